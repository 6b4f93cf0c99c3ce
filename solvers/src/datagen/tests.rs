//! Data sets of the 3-D families: shapes, coordinates and solutions checked against
//! systems assembled again from the sampler.

use super::*;
use crate::sequence::NoProgress;
use solvent_linalg::io::npz::{self, NpzMember};
use solvent_linalg::vector::relative_residual;
use std::collections::HashMap;

#[test]
fn every_3d_family_writes_n_cubed_fields_that_solve_their_systems() {
    let dir = tempfile::tempdir().unwrap();
    let (grid, count, tol) = (6usize, 3usize, 1e-9);
    let n = grid * grid * grid;
    for &family in PdeFamily::ALL.iter().filter(|f| f.dim() == 3) {
        let config = DatagenConfig {
            seed: 4,
            tol,
            precision: Precision::F64,
            ..DatagenConfig::new(family, grid, count)
        };
        let out = generate(&config, &mut NoProgress).unwrap();
        let d = &out.dataset;
        assert_eq!((d.dim, d.points()), (3, n));
        assert_eq!(d.field_shape(), vec![count, grid, grid, grid]);
        assert_eq!(d.metadata["n"], n, "{family}");
        let path = dir.path().join(format!("{family}.npz"));
        d.write(&path, Precision::F64).unwrap();
        let mut arrays = HashMap::new();
        for (name, m) in npz::read(&path).unwrap() {
            if let NpzMember::Array(a) = m {
                arrays.insert(name, a);
            }
        }
        for field in ["coeff", "sol"] {
            assert_eq!(
                arrays[field].shape,
                vec![count, grid, grid, grid],
                "{family} {field}"
            );
        }
        for axis in ["x", "y", "z"] {
            assert_eq!(arrays[axis].data, d.coordinates(), "{family} {axis}");
        }
        assert_eq!(arrays.contains_key("k"), family == PdeFamily::Helmholtz3d);
        let sampler = PdeSampler::new(family, FamilyConfig::new(grid, 4)).unwrap();
        let (sol, coeff) = (&arrays["sol"].data, &arrays["coeff"].data);
        for i in 0..count {
            let s = sampler.sample(i).unwrap();
            let x = &sol[i * n..(i + 1) * n];
            let res = relative_residual(&s.a, x, &s.b);
            assert!(res <= tol, "{family} sample {i}: residual {res:.2e}");
            assert!(x.iter().any(|&v| v != 0.0));
            assert_eq!(
                &coeff[i * n..(i + 1) * n],
                s.coeff.as_slice(),
                "{family} sample {i}"
            );
        }
    }
}

#[test]
fn the_size_check_counts_n_cubed_values_for_3d_grids() {
    let p = std::path::Path::new("d.npz");
    // 4 samples of 700³ float32 values are 5.5 GB: over the .npz member limit in 3-D only
    assert!(check_output(p, 4, 700, 2, Precision::F32).is_ok());
    let e = check_output(p, 4, 700, 3, Precision::F32)
        .unwrap_err()
        .to_string();
    assert!(e.contains("700×700×700"), "{e}");
    assert!(check_output(p, 1, 600, 3, Precision::F32).is_ok());
    // a piece of another dimension does not fit
    let mut whole = Dataset::with_dim(2, 4, 3);
    let mut piece = Dataset::new(1, 4);
    piece.index = Some(vec![1]);
    assert!(whole.place(&piece).is_err());
    let mut piece = Dataset::with_dim(1, 4, 3);
    piece.index = Some(vec![1]);
    piece.sol.fill(2.0);
    whole.place(&piece).unwrap();
    assert!(whole.sol[..64].iter().all(|&v| v == 0.0) && whole.sol[64..].iter().all(|&v| v == 2.0));
    assert!(DatagenConfig::new(PdeFamily::Darcy3d, 5000, 1)
        .validate()
        .is_err());
}

#[cfg(feature = "hdf5")]
#[test]
fn hdf5_output_of_a_3d_family_has_the_3d_pdebench_shapes() {
    use hdf5_metno as h5;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.h5");
    let config = DatagenConfig {
        precision: Precision::F64,
        ..DatagenConfig::new(PdeFamily::Helmholtz3d, 5, 2)
    };
    let out = generate(&config, &mut NoProgress).unwrap();
    out.dataset.write(&path, Precision::F64).unwrap();
    let f = h5::File::open(&path).unwrap();
    assert_eq!(f.dataset("nu").unwrap().shape(), vec![2, 5, 5, 5]);
    let tensor = f.dataset("tensor").unwrap();
    assert_eq!(tensor.shape(), vec![2, 1, 5, 5, 5]);
    assert_eq!(f.dataset("z-coordinate").unwrap().shape(), vec![5]);
    let sol: Vec<f64> = tensor.read_raw().unwrap();
    assert_eq!(sol, out.dataset.sol);
}
