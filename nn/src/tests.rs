//! Tests on a small random BERT (written by [`crate::fixture`]): the forward pass against an
//! f64 reference written here, a curve point recomputed by hand, exact per-layer sparsity of
//! every method, the joint distortion and the additivity check, the cache.

use crate::fixture::{sample_sentences, write_tiny_bert, TinyBert, WORDS};
use crate::*;
use candle_core::Tensor;
use std::collections::HashMap;

fn model(seed: u64) -> (tempfile::TempDir, ModelDir) {
    let d = tempfile::tempdir().unwrap();
    write_tiny_bert(
        d.path(),
        &TinyBert {
            seed,
            ..Default::default()
        },
    )
    .unwrap();
    let m = ModelDir::open(d.path()).unwrap();
    (d, m)
}

fn vals(t: &HashMap<String, Tensor>, name: &str) -> Vec<f64> {
    t[name]
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap()
        .into_iter()
        .map(f64::from)
        .collect()
}

/// erf to ~1e-12: Taylor series below 4, the asymptotic erfc expansion above.
fn erf(x: f64) -> f64 {
    let z = x.abs();
    let v = if z < 4.0 {
        let (mut term, mut sum, mut n) = (z, z, 0.0);
        while term.abs() > 1e-17 * sum.abs() {
            n += 1.0;
            term *= -z * z / n;
            sum += term / (2.0 * n + 1.0);
        }
        sum * 2.0 / std::f64::consts::PI.sqrt()
    } else {
        let z2 = z * z;
        let series = 1.0 - 1.0 / (2.0 * z2) + 3.0 / (4.0 * z2 * z2) - 15.0 / (8.0 * z2 * z2 * z2);
        1.0 - (-z2).exp() / (z * std::f64::consts::PI.sqrt()) * series
    };
    v.copysign(x)
}

fn layer_norm(x: &mut [f64], w: &[f64], b: &[f64]) {
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
    for ((v, w), b) in x.iter_mut().zip(w).zip(b) {
        *v = (*v - mean) / (var + 1e-12).sqrt() * w + b;
    }
}

fn linear(x: &[f64], w: &[f64], b: &[f64]) -> Vec<f64> {
    let (o, i) = (b.len(), x.len());
    (0..o)
        .map(|r| b[r] + (0..i).map(|c| w[r * i + c] * x[c]).sum::<f64>())
        .collect()
}

/// BERT in f64, one sentence, no batching: the reference every path is checked against.
fn reference(t: &HashMap<String, Tensor>, heads: usize, layers: usize, ids: &[u32]) -> Vec<f64> {
    let h = t["embeddings.LayerNorm.weight"].dims1().unwrap();
    let (we, pe, te) = (
        vals(t, "embeddings.word_embeddings.weight"),
        vals(t, "embeddings.position_embeddings.weight"),
        vals(t, "embeddings.token_type_embeddings.weight"),
    );
    let mut x: Vec<Vec<f64>> = ids
        .iter()
        .enumerate()
        .map(|(p, &id)| {
            let mut v: Vec<f64> = (0..h)
                .map(|j| we[id as usize * h + j] + pe[p * h + j] + te[j])
                .collect();
            layer_norm(
                &mut v,
                &vals(t, "embeddings.LayerNorm.weight"),
                &vals(t, "embeddings.LayerNorm.bias"),
            );
            v
        })
        .collect();
    let d = h / heads;
    for l in 0..layers {
        let g = |s: &str| vals(t, &format!("encoder.layer.{l}.{s}"));
        let lin = |x: &[f64], s: &str| linear(x, &g(&format!("{s}.weight")), &g(&format!("{s}.bias")));
        let q: Vec<Vec<f64>> = x.iter().map(|v| lin(v, "attention.self.query")).collect();
        let k: Vec<Vec<f64>> = x.iter().map(|v| lin(v, "attention.self.key")).collect();
        let v: Vec<Vec<f64>> = x.iter().map(|v| lin(v, "attention.self.value")).collect();
        let s = x.len();
        let mut ctx = vec![vec![0.0; h]; s];
        for hd in 0..heads {
            for i in 0..s {
                let sc: Vec<f64> = (0..s)
                    .map(|j| {
                        (0..d).map(|e| q[i][hd * d + e] * k[j][hd * d + e]).sum::<f64>() / (d as f64).sqrt()
                    })
                    .collect();
                let m = sc.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
                let z: f64 = sc.iter().map(|a| (a - m).exp()).sum();
                for j in 0..s {
                    let p = (sc[j] - m).exp() / z;
                    for e in 0..d {
                        ctx[i][hd * d + e] += p * v[j][hd * d + e];
                    }
                }
            }
        }
        x = (0..s)
            .map(|i| {
                let mut a: Vec<f64> = lin(&ctx[i], "attention.output.dense")
                    .iter()
                    .zip(&x[i])
                    .map(|(p, q)| p + q)
                    .collect();
                layer_norm(
                    &mut a,
                    &g("attention.output.LayerNorm.weight"),
                    &g("attention.output.LayerNorm.bias"),
                );
                let inner: Vec<f64> = lin(&a, "intermediate.dense")
                    .into_iter()
                    .map(|u| 0.5 * u * (1.0 + erf(u / std::f64::consts::SQRT_2)))
                    .collect();
                let mut o: Vec<f64> = lin(&inner, "output.dense")
                    .iter()
                    .zip(&a)
                    .map(|(p, q)| p + q)
                    .collect();
                layer_norm(&mut o, &g("output.LayerNorm.weight"), &g("output.LayerNorm.bias"));
                o
            })
            .collect();
    }
    let mut e: Vec<f64> = (0..h)
        .map(|j| x.iter().map(|r| r[j]).sum::<f64>() / x.len() as f64)
        .collect();
    let n = e.iter().map(|v| v * v).sum::<f64>().sqrt();
    e.iter_mut().for_each(|v| *v /= n);
    e
}

fn ids(m: &ModelDir, s: &str) -> Vec<u32> {
    m.tokenizer.encode(s, true).unwrap().get_ids().to_vec()
}

#[test]
fn erf_matches_known_values() {
    for (x, v) in [
        (0.5, 0.520_499_877_813_046_5),
        (1.0, 0.842_700_792_949_714_9),
        (2.5, 0.999_593_047_982_555),
        (4.5, 0.999_999_999_803_383),
    ] {
        assert!((erf(x) - v).abs() < 1e-12, "erf({x}) = {} vs {v}", erf(x));
        assert!((erf(-x) + v).abs() < 1e-12);
    }
}

#[test]
fn tokenizer_is_bert_wordpiece() {
    let (_d, m) = model(1);
    let id = |w: &str| 4 + WORDS.iter().position(|x| *x == w).unwrap() as u32;
    // Lower-cased, punctuation split off, "cats" → cat ##s, unknown word → [UNK].
    assert_eq!(
        ids(&m, "The Cats sat, zebra."),
        vec![
            2,
            id("the"),
            id("cat"),
            id("##s"),
            id("sat"),
            id(","),
            1,
            id("."),
            3
        ]
    );
}

#[test]
fn embeddings_match_the_f64_reference() {
    let (_d, m) = model(2);
    let s = sample_sentences(40, 3);
    let e = m.embed(&s).unwrap();
    let cal = Calibration::new(&m, &s).unwrap();
    // The staged pass (used for the curves) measures what candle-transformers' network
    // gives for the same pruned weights: one layer per slot, both blocks.
    let layers = curves::prunable_layers(&m, &cal, Score::Magnitude).unwrap();
    for (li, l) in layers.iter().enumerate() {
        let mut pruned = vec![0; layers.len()];
        pruned[li] = l.len() * 3 / 5;
        let staged = joint_distortion(&cal, &layers, &pruned).unwrap().embedding;
        let p = m
            .embed_with(&eval::pruned_tensors(&m, &layers, &pruned).unwrap(), &s)
            .unwrap();
        let direct = p
            .iter()
            .zip(&e)
            .map(|(a, b)| {
                a.iter()
                    .zip(b)
                    .map(|(x, y)| f64::from(x - y).powi(2))
                    .sum::<f64>()
            })
            .sum::<f64>()
            / s.len() as f64;
        assert!(
            (staged - direct).abs() <= 1e-4 * direct,
            "{}: staged {staged:e} vs network {direct:e}",
            l.name
        );
    }
    let short: Vec<[Option<Dense>; 6]> = vec![Default::default()];
    assert!(
        cal.joint(&short, None).is_err(),
        "a swap list must cover every block"
    );
    let mut worst = 0.0f64;
    for (i, sent) in s.iter().enumerate() {
        let r = reference(&m.tensors, 2, 2, &ids(&m, sent));
        for (a, b) in e[i].iter().zip(&r) {
            worst = worst.max((f64::from(*a) - b).abs());
        }
        let n: f64 = e[i].iter().map(|v| f64::from(*v) * f64::from(*v)).sum();
        assert!((n - 1.0).abs() < 1e-5, "unit length");
    }
    assert!(
        worst < 1e-5,
        "candle-transformers' BERT vs the reference: {worst:e}"
    );
}

#[test]
fn staged_rerun_matches_a_full_forward_of_the_pruned_network() {
    let (_d, m) = model(4);
    let s = sample_sentences(24, 5);
    let cal = Calibration::new(&m, &s).unwrap();
    let layers = curves::prunable_layers(&m, &cal, Score::Magnitude).unwrap();
    for (li, l) in layers.iter().enumerate() {
        let count = l.len() / 2;
        let (b, slot) = Slot::parse(&l.name).unwrap();
        let one = cal
            .one_layer(b, slot, &curves::pruned_linear(&cal, l, count).unwrap())
            .unwrap();
        let mut pruned = vec![0; layers.len()];
        pruned[li] = count;
        let joint = joint_distortion(&cal, &layers, &pruned).unwrap();
        // Exactly additive when one layer is pruned: the two paths agree.
        assert!(
            (one.embedding - joint.embedding).abs() <= 1e-5 * joint.embedding.max(1e-12),
            "{}: {one:?} vs {joint:?}",
            l.name
        );
        assert!((one.hidden - joint.hidden).abs() <= 1e-5 * joint.hidden.max(1e-12));
        assert!(one.embedding > 0.0);
    }
}

#[test]
fn a_curve_point_recomputed_by_hand() {
    let (_d, m) = model(5);
    let s = sample_sentences(20, 6);
    let cal = Calibration::new(&m, &s).unwrap();
    let spec = CurveSpec {
        levels: 5,
        score: Score::Magnitude,
    };
    let layers = curves::prunable_layers(&m, &cal, spec.score).unwrap();
    let c = curves::compute(&cal, &layers, &spec, "k".into(), &mut |_, _| {}).unwrap();
    assert_eq!(c.layers.len(), 12);
    let name = "encoder.layer.0.intermediate.dense.weight";
    let li = c.layers.iter().position(|l| l.name == name).unwrap();
    let k = 2; // 50%
               // By hand: zero the half of the weights with the smallest |w|, run the reference.
    let w = vals(&m.tensors, name);
    let mut order: Vec<usize> = (0..w.len()).collect();
    order.sort_by(|&a, &b| w[a].abs().total_cmp(&w[b].abs()).then(a.cmp(&b)));
    let count = (0.5 * w.len() as f64).round() as usize;
    assert_eq!(c.layers[li].pruned[k], count);
    let mut wp = w.clone();
    for &i in &order[..count] {
        wp[i] = 0.0;
    }
    let mut t = m.tensors.clone();
    let shape = m.tensors[name].dims().to_vec();
    t.insert(
        name.into(),
        Tensor::from_vec(
            wp.iter().map(|&v| v as f32).collect::<Vec<f32>>(),
            shape,
            &candle_core::Device::Cpu,
        )
        .unwrap(),
    );
    let mut d = 0.0;
    for sent in &s {
        let i = ids(&m, sent);
        let (a, b) = (reference(&m.tensors, 2, 2, &i), reference(&t, 2, 2, &i));
        d += a.iter().zip(&b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>();
    }
    d /= s.len() as f64;
    let got = c.layers[li].embedding[k];
    assert!((got - d).abs() <= 1e-3 * d, "curve {got:e} vs by hand {d:e}");
    // Level 0 is the dense layer; the curve grows to the fully pruned layer.
    assert_eq!(c.layers[li].embedding[0], 0.0);
    assert!(c.layers[li].embedding[4] > c.layers[li].embedding[1]);
}

#[test]
fn every_method_prunes_exactly_its_counts() {
    let (_d, m) = model(6);
    let s = sample_sentences(32, 7);
    let cal = Calibration::new(&m, &s).unwrap();
    let spec = CurveSpec {
        levels: 11,
        score: Score::Magnitude,
    };
    let layers = curves::prunable_layers(&m, &cal, spec.score).unwrap();
    let c = curves::compute(&cal, &layers, &spec, "k".into(), &mut |_, _| {}).unwrap();
    let ctx = Context {
        cal: &cal,
        layers: &layers,
        curves: &c,
        target: Target::Embedding,
        owl: OwlSettings::default(),
        evolve: solvent_solvers::allocation::EvolveSettings {
            generations: 3,
            offspring: 6,
            survivors: vec![2],
            ..Default::default()
        },
        evolve_screen: 8,
    };
    let n: usize = layers.iter().map(PrunableLayer::len).sum();
    for sparsity in [0.3, 0.5, 0.7] {
        let keep = methods::keep_budget(&layers, sparsity).unwrap();
        for method in Method::ALL {
            let counts = methods::counts(&ctx, method, sparsity).unwrap();
            let kept = n - counts.iter().sum::<usize>();
            assert!(kept <= keep, "{method:?} at {sparsity}: keeps {kept} > {keep}");
            let t = eval::pruned_tensors(&m, &layers, &counts).unwrap();
            for (l, &p) in layers.iter().zip(&counts) {
                let zeros = t[&l.name]
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap()
                    .iter()
                    .filter(|v| **v == 0.0)
                    .count();
                assert_eq!(
                    zeros, p,
                    "{method:?}: layer {} has {zeros} zeros for {p} pruned",
                    l.name
                );
            }
            if matches!(method, Method::Dp | Method::Evolve) {
                // On the grid: each layer at one of its levels.
                for (cl, &p) in c.layers.iter().zip(&counts) {
                    assert!(cl.pruned.contains(&p));
                }
            } else {
                // The baselines meet the budget to within one weight per layer (floors).
                assert!(keep - kept <= layers.len(), "{method:?}: keeps {kept} of {keep}");
            }
        }
        // Global magnitude: the kept weights are the `keep` largest |w| (brute force).
        let counts = methods::global(&layers, sparsity).unwrap();
        let mut all: Vec<f32> = layers
            .iter()
            .flat_map(|l| l.weights.iter().map(|w| w.abs()))
            .collect();
        all.sort_by(|a, b| b.total_cmp(a));
        let threshold = all[keep - 1];
        for (l, &p) in layers.iter().zip(&counts) {
            let above = l.weights.iter().filter(|w| w.abs() > threshold).count();
            assert_eq!(
                l.len() - p,
                above
                    + l.weights
                        .iter()
                        .filter(|w| w.abs() == threshold)
                        .count()
                        .min(l.len() - p - above)
            );
        }
        // OWL with no spread is uniform.
        let flat = Context {
            owl: OwlSettings { m: 5.0, lambda: 0.0 },
            evolve: ctx.evolve.clone(),
            ..ctx
        };
        assert_eq!(
            methods::owl(&flat, sparsity).unwrap(),
            methods::uniform(&layers, sparsity).unwrap()
        );
        // The DP's prediction is its summed curve values, and no allocation on the grid that
        // fits does better: every layer at one common level (the sparsest that fits), and
        // every single-layer move of one level down paired with another's one level up.
        let (dp_counts, predicted, _) = methods::dp(&ctx, sparsity, false).unwrap();
        let level = |cl: &LayerCurve, p: usize| cl.pruned.iter().position(|q| *q == p).unwrap();
        let choice: Vec<usize> = c
            .layers
            .iter()
            .zip(&dp_counts)
            .map(|(cl, &p)| level(cl, p))
            .collect();
        let value = |ch: &[usize]| -> f64 { c.layers.iter().zip(ch).map(|(cl, &k)| cl.embedding[k]).sum() };
        let kept = |ch: &[usize]| -> usize {
            c.layers
                .iter()
                .zip(ch)
                .map(|(cl, &k)| cl.shape[0] * cl.shape[1] - cl.pruned[k])
                .sum()
        };
        assert!((value(&choice) - predicted).abs() <= 1e-12 * predicted.max(1.0));
        let k_uniform = (0..11).find(|&k| kept(&vec![k; layers.len()]) <= keep).unwrap();
        assert!(predicted <= value(&vec![k_uniform; layers.len()]) + 1e-12);
        for a in 0..layers.len() {
            for b in 0..layers.len() {
                if a == b || choice[a] == 0 || choice[b] == 10 {
                    continue;
                }
                let mut ch = choice.clone();
                ch[a] -= 1;
                ch[b] += 1;
                if kept(&ch) <= keep {
                    assert!(predicted <= value(&ch) + 1e-12, "a paired move beats the DP");
                }
            }
        }
        // OWL: block densities spread over 2λ, the densest block the one with most outliers.
        let (ratio, block_of) = methods::outlier_ratios(&ctx).unwrap();
        let owl = methods::owl(&ctx, sparsity).unwrap();
        let density: Vec<f64> = (0..2)
            .map(|b| {
                let (k, n) = layers
                    .iter()
                    .zip(&owl)
                    .zip(&block_of)
                    .filter(|(_, &bb)| bb == b)
                    .fold((0, 0), |(k, n), ((l, &p), _)| (k + l.len() - p, n + l.len()));
                k as f64 / n as f64
            })
            .collect();
        if ratio[0] != ratio[1] {
            let hi = if ratio[0] > ratio[1] { 0 } else { 1 };
            assert!(
                density[hi] > density[1 - hi],
                "ratios {ratio:?}, densities {density:?}"
            );
            let spread = (density[0] - density[1]).abs();
            assert!(
                (spread - 0.16).abs() < 0.01 || density.iter().any(|d| *d >= 0.999 || *d <= 0.001),
                "spread {spread}"
            );
        }
    }
}

#[test]
fn joint_evaluator_and_additivity() {
    let (_d, m) = model(8);
    let s = sample_sentences(48, 9);
    let cal = Calibration::new(&m, &s).unwrap();
    let spec = CurveSpec {
        levels: 11,
        score: Score::Magnitude,
    };
    let layers = curves::prunable_layers(&m, &cal, spec.score).unwrap();
    let c = curves::compute(&cal, &layers, &spec, "k".into(), &mut |_, _| {}).unwrap();
    // The evaluator's last stage is the joint distortion on every sentence.
    let choice: Vec<usize> = (0..layers.len()).map(|l| l % 5).collect();
    let pruned: Vec<usize> = choice
        .iter()
        .zip(&c.layers)
        .map(|(&k, cl)| cl.pruned[k])
        .collect();
    let mut ev = JointEvaluator::new(&cal, &layers, &c, Target::Embedding, 16);
    use solvent_solvers::allocation::Evaluator;
    let v = ev.evaluate(&choice, 1).unwrap();
    assert_eq!(v, joint_distortion(&cal, &layers, &pruned).unwrap().embedding);
    let screened = ev.evaluate(&choice, 0).unwrap();
    assert!(screened.is_finite() && screened > 0.0);
    let a = additivity(&cal, &layers, &c, Target::Embedding, 12, 3, &mut |_, _| {}).unwrap();
    assert_eq!(a.samples.len(), 12);
    for smp in &a.samples {
        let r = smp.joint / smp.sum;
        assert!(r >= a.ratio_min - 1e-12 && r <= a.ratio_max + 1e-12);
    }
    assert!((-1.0..=1.0).contains(&a.pearson) && (-1.0..=1.0).contains(&a.spearman));
    // More pruning, more distortion, both measured and summed: the ranks agree.
    assert!(a.spearman > 0.5, "spearman {}", a.spearman);
}

#[test]
fn correlations_against_hand_values() {
    // Pearson of (1, 2, 3) and (1, 3, 2) is 0.5; of a reversed copy −1.
    assert!((joint::pearson(&[1.0, 2.0, 3.0], &[1.0, 3.0, 2.0]) - 0.5).abs() < 1e-12);
    assert!((joint::pearson(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
    // Ties share the average rank.
    assert_eq!(joint::ranks(&[10.0, 30.0, 20.0, 30.0]), vec![0.0, 2.5, 1.0, 2.5]);
}

#[test]
fn curves_cache_round_trip_and_key() {
    let (d, m) = model(10);
    let s = sample_sentences(16, 11);
    let spec = CurveSpec {
        levels: 3,
        score: Score::Magnitude,
    };
    let cache = tempfile::tempdir().unwrap();
    let p1 = prepare(d.path(), &s, &spec, Some(cache.path()), &mut |_, _| {}).unwrap();
    assert!(p1.cached.is_none() && p1.stored.is_some());
    let p2 = prepare(d.path(), &s, &spec, Some(cache.path()), &mut |_, _| {}).unwrap();
    assert!(p2.cached.is_some());
    assert_eq!(
        serde_json::to_value(&p1.curves.layers).unwrap(),
        serde_json::to_value(&p2.curves.layers).unwrap()
    );
    // Other sentences, another score or another grid: another key.
    let k = |s: &[String], spec: &CurveSpec| curves::cache_key(&m, s, spec).unwrap();
    assert_ne!(k(&s, &spec), k(&s[1..], &spec));
    assert_ne!(
        k(&s, &spec),
        k(
            &s,
            &CurveSpec {
                levels: 4,
                score: Score::Magnitude
            }
        )
    );
    assert_ne!(
        k(&s, &spec),
        k(
            &s,
            &CurveSpec {
                levels: 3,
                score: Score::Wanda
            }
        )
    );
}

#[test]
fn wanda_order_uses_input_norms() {
    let (_d, m) = model(12);
    let s = sample_sentences(16, 13);
    let cal = Calibration::new(&m, &s).unwrap();
    let mag = curves::prunable_layers(&m, &cal, Score::Magnitude).unwrap();
    let wan = curves::prunable_layers(&m, &cal, Score::Wanda).unwrap();
    let norms = cal.input_norms(0, Slot::Query).unwrap();
    let l = &wan[0];
    let score = |i: u32| l.weights[i as usize].abs() * norms[i as usize % l.shape.1];
    assert!(l.order.windows(2).all(|w| score(w[0]) <= score(w[1])));
    assert_ne!(mag[0].order, l.order);
}

#[test]
fn bad_model_directories_are_named() {
    let d = tempfile::tempdir().unwrap();
    let e = ModelDir::open(d.path().join("missing"))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("not a directory"), "{e}");
    write_tiny_bert(d.path(), &TinyBert::default()).unwrap();
    std::fs::write(d.path().join("config.json"), "{").unwrap();
    let e = ModelDir::open(d.path()).err().unwrap().to_string();
    assert!(e.contains("config.json"), "{e}");
    write_tiny_bert(d.path(), &TinyBert::default()).unwrap();
    std::fs::remove_file(d.path().join("tokenizer.json")).unwrap();
    let e = ModelDir::open(d.path()).err().unwrap().to_string();
    assert!(e.contains("tokenizer.json"), "{e}");
}
