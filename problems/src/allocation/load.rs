//! Reading and writing options tables.
//!
//! **JSON** (`.json`):
//! ```json
//! {"layers": [
//!   {"name": "encoder.layer.0.attention.self.query.weight", "shape": [384, 384],
//!    "options": [
//!      {"level": 0,  "sparsity": 0.0, "cost": {"params": 147456, "flops": 294912}, "distortion": 0.0},
//!      {"level": 50, "sparsity": 0.5, "cost": {"params": 73728,  "flops": 147456}, "distortion": 1.7}
//!    ]}
//! ]}
//! ```
//! `shape` and `sparsity` are optional; `cost` must hold `params`, and every option of every
//! layer must cost the same resources. Unknown keys are ignored.
//!
//! **CSV** (`.csv`): a header and one option per line,
//! ```text
//! layer,level,sparsity,params,flops,distortion
//! fc1,0,0.0,1000,2000,0.0
//! fc1,50,0.5,500,1000,3.2
//! ```
//! Column names: `layer` (or `name`), `level`, `distortion`, `sparsity` (optional), `shape`
//! (optional, `384x1536`), and the costs as `params`, `flops`, `bytes` or any `cost_<name>`.
//! A layer's options are the lines with its name, in any order. Errors give file and line.

use super::table::{Layer, LayerOption, OptionTable, PARAMS};
use crate::error::{ProblemError, Result};
use serde::{Deserialize, Serialize};
use solvent_linalg::LinalgError;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

fn format_err(path: &Path, line: Option<usize>, message: impl Into<String>) -> ProblemError {
    ProblemError::Linalg(LinalgError::Format {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    })
}

fn read_text(path: &Path) -> Result<String> {
    Ok(solvent_linalg::io::read_text(path)?)
}

/// Reads a table, choosing the format by extension (`.json` or `.csv`).
pub fn read_table(path: impl AsRef<Path>) -> Result<OptionTable> {
    let path = path.as_ref();
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("json") => read_json(path),
        Some("csv") => read_csv(path),
        _ => Err(format_err(
            path,
            None,
            "unknown table format: expected a .json or .csv file",
        )),
    }
}

#[derive(Deserialize, Serialize)]
struct RawTable {
    layers: Vec<RawLayer>,
}

#[derive(Deserialize, Serialize)]
struct RawLayer {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shape: Option<Vec<usize>>,
    options: Vec<RawOption>,
}

#[derive(Deserialize, Serialize)]
struct RawOption {
    level: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sparsity: Option<f64>,
    cost: BTreeMap<String, u64>,
    distortion: f64,
}

/// Reads a JSON table (schema in the module docs).
pub fn read_json(path: impl AsRef<Path>) -> Result<OptionTable> {
    let path = path.as_ref();
    let text = read_text(path)?;
    let raw: RawTable = serde_json::from_str(&text)
        .map_err(|e| format_err(path, Some(e.line()), format!("not a valid options table: {e}")))?;
    from_raw(raw).map_err(|e| format_err(path, None, e.to_string()))
}

/// Parses a JSON table held in a string (schema in the module docs): what a front end
/// with the table in memory (the Python package) hands over. Errors name `what`.
pub fn parse_json(text: &str, what: &str) -> Result<OptionTable> {
    let raw: RawTable = serde_json::from_str(text).map_err(|e| {
        ProblemError::Invalid(format!(
            "{what}: not a valid options table (line {}): {e}",
            e.line()
        ))
    })?;
    from_raw(raw).map_err(|e| ProblemError::Invalid(format!("{what}: {e}")))
}

fn from_raw(raw: RawTable) -> Result<OptionTable> {
    // Resources: params first, then the others in order of first appearance.
    let mut resources = vec![PARAMS.to_string()];
    for l in &raw.layers {
        for o in &l.options {
            for k in o.cost.keys() {
                if !resources.contains(k) {
                    resources.push(k.clone());
                }
            }
        }
    }
    let mut layers = Vec::with_capacity(raw.layers.len());
    for (li, l) in raw.layers.into_iter().enumerate() {
        let mut options = Vec::with_capacity(l.options.len());
        for (oi, o) in l.options.into_iter().enumerate() {
            let mut cost = Vec::with_capacity(resources.len());
            for r in &resources {
                match o.cost.get(r) {
                    Some(&c) => cost.push(c),
                    None => {
                        return Err(ProblemError::Invalid(format!(
                            "layer \"{}\" (#{li}), option #{oi} (level {}): no \"{r}\" cost \
                             (every option must cost every resource some option uses)",
                            l.name, o.level
                        )))
                    }
                }
            }
            options.push(LayerOption {
                level: o.level,
                sparsity: o.sparsity,
                cost,
                distortion: o.distortion,
            });
        }
        layers.push(Layer {
            name: l.name,
            shape: l.shape,
            options,
        });
    }
    OptionTable::new(resources, layers)
}

/// Reads a CSV table (schema in the module docs).
pub fn read_csv(path: impl AsRef<Path>) -> Result<OptionTable> {
    let path = path.as_ref();
    let text = read_text(path)?;
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Err(format_err(path, None, "empty file: expected a header line"));
    };
    let cols: Vec<String> = header.split(',').map(|c| c.trim().to_ascii_lowercase()).collect();
    let find = |names: &[&str]| cols.iter().position(|c| names.contains(&c.as_str()));
    let need = |names: &[&str]| {
        find(names).ok_or_else(|| {
            format_err(
                path,
                Some(1),
                format!("the header has no \"{}\" column", names[0]),
            )
        })
    };
    let c_layer = need(&["layer", "name"])?;
    let c_level = need(&["level"])?;
    let c_dist = need(&["distortion"])?;
    let c_sparsity = find(&["sparsity"]);
    let c_shape = find(&["shape"]);
    let mut cost_cols: Vec<(String, usize)> = Vec::new();
    for (i, c) in cols.iter().enumerate() {
        let name = if let Some(r) = c.strip_prefix("cost_") {
            r.to_string()
        } else if ["params", "flops", "bytes"].contains(&c.as_str()) {
            c.clone()
        } else {
            continue;
        };
        if cost_cols.iter().any(|(n, _)| *n == name) {
            return Err(format_err(
                path,
                Some(1),
                format!("cost column \"{name}\" appears twice"),
            ));
        }
        cost_cols.push((name, i));
    }
    let Some(p) = cost_cols.iter().position(|(n, _)| n == PARAMS) else {
        return Err(format_err(
            path,
            Some(1),
            "the header has no \"params\" (or \"cost_params\") column",
        ));
    };
    cost_cols.swap(0, p);
    let resources: Vec<String> = cost_cols.iter().map(|(n, _)| n.clone()).collect();

    let mut order: Vec<String> = Vec::new();
    let mut by_name: HashMap<String, (Option<Vec<usize>>, Vec<LayerOption>)> = HashMap::new();
    for (i, line) in lines {
        let ln = i + 1;
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != cols.len() {
            return Err(format_err(
                path,
                Some(ln),
                format!("{} fields, the header has {}", fields.len(), cols.len()),
            ));
        }
        let num = |c: usize, what: &str| -> Result<f64> {
            let v: f64 = fields[c].parse().map_err(|_| {
                format_err(
                    path,
                    Some(ln),
                    format!("{what} \"{}\" is not a number", fields[c]),
                )
            })?;
            if !v.is_finite() {
                return Err(format_err(path, Some(ln), format!("{what} is {v}")));
            }
            Ok(v)
        };
        let level: u32 = fields[c_level].parse().map_err(|_| {
            format_err(
                path,
                Some(ln),
                format!("level \"{}\" is not a non-negative integer", fields[c_level]),
            )
        })?;
        let distortion = num(c_dist, "distortion")?;
        if distortion < 0.0 {
            return Err(format_err(
                path,
                Some(ln),
                format!("negative distortion {distortion}"),
            ));
        }
        let sparsity = match c_sparsity {
            Some(c) if !fields[c].is_empty() => Some(num(c, "sparsity")?),
            _ => None,
        };
        let mut cost = Vec::with_capacity(cost_cols.len());
        for (name, c) in &cost_cols {
            cost.push(fields[*c].parse::<u64>().map_err(|_| {
                format_err(
                    path,
                    Some(ln),
                    format!("{name} cost \"{}\" is not a non-negative integer", fields[*c]),
                )
            })?);
        }
        let shape = match c_shape {
            Some(c) if !fields[c].is_empty() => Some(
                fields[c]
                    .split('x')
                    .map(|d| d.trim().parse::<usize>())
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|_| {
                        format_err(
                            path,
                            Some(ln),
                            format!("shape \"{}\" is not like 384x1536", fields[c]),
                        )
                    })?,
            ),
            _ => None,
        };
        let name = fields[c_layer].to_string();
        if name.is_empty() {
            return Err(format_err(path, Some(ln), "empty layer name"));
        }
        let entry = by_name.entry(name.clone()).or_insert_with(|| {
            order.push(name.clone());
            (None, Vec::new())
        });
        if shape.is_some() {
            entry.0 = shape;
        }
        if entry.1.iter().any(|o| o.level == level) {
            return Err(format_err(
                path,
                Some(ln),
                format!("layer \"{name}\": level {level} appears twice"),
            ));
        }
        entry.1.push(LayerOption {
            level,
            sparsity,
            cost,
            distortion,
        });
    }
    let layers = order
        .into_iter()
        .map(|name| {
            let (shape, options) = by_name.remove(&name).unwrap_or_default();
            Layer { name, shape, options }
        })
        .collect();
    OptionTable::new(resources, layers).map_err(|e| format_err(path, None, e.to_string()))
}

/// Writes a table as JSON (the schema [`read_json`] reads), atomically.
pub fn write_json(table: &OptionTable, path: impl AsRef<Path>) -> Result<()> {
    let raw = RawTable {
        layers: table
            .layers
            .iter()
            .map(|l| RawLayer {
                name: l.name.clone(),
                shape: l.shape.clone(),
                options: l
                    .options
                    .iter()
                    .map(|o| RawOption {
                        level: o.level,
                        sparsity: o.sparsity,
                        cost: table.cost_map(o),
                        distortion: o.distortion,
                    })
                    .collect(),
            })
            .collect(),
    };
    solvent_linalg::io::atomic_write(path.as_ref(), |w| {
        serde_json::to_writer(&mut *w, &raw)?;
        w.write_all(b"\n")
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn json_and_csv_read_the_same_table_and_json_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let json = write(
            dir.path(),
            "t.json",
            r#"{"layers": [
              {"name": "fc1", "shape": [10, 100], "options": [
                {"level": 0, "sparsity": 0.0, "cost": {"params": 1000, "flops": 2000}, "distortion": 0.0},
                {"level": 50, "sparsity": 0.5, "cost": {"flops": 1000, "params": 500}, "distortion": 3.5}]},
              {"name": "fc2", "options": [
                {"level": 0, "cost": {"params": 10, "flops": 20}, "distortion": 0.0, "note": "ignored"}]}]}"#,
        );
        let csv = write(
            dir.path(),
            "t.csv",
            "layer,level,sparsity,params,cost_flops,distortion,shape\n\
             fc1,0,0.0,1000,2000,0.0,10x100\n\
             fc2,0,,10,20,0,\n\
             fc1,50,0.5,500,1000,3.5,\n",
        );
        let a = read_table(&json).unwrap();
        let b = read_table(&csv).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.resources, vec!["params", "flops"]);
        assert_eq!(a.layers[0].options[1].cost, vec![500, 1000]);
        assert_eq!(a.layers[0].size(), 1000);
        let out = dir.path().join("o.json");
        write_json(&a, &out).unwrap();
        assert_eq!(read_table(&out).unwrap(), a);
    }

    #[test]
    fn bad_tables_name_what_and_where() {
        let dir = tempfile::tempdir().unwrap();
        let err = |name: &str, text: &str| read_table(write(dir.path(), name, text)).unwrap_err().to_string();
        let e = err("a.csv", "layer,level,params,distortion\nfc,0,10,0\nfc,1,5,NaN\n");
        assert!(e.contains("a.csv:3") && e.contains("distortion is NaN"), "{e}");
        let e = err("b.csv", "layer,level,params,distortion\nfc,0,10,-1\n");
        assert!(e.contains("b.csv:2") && e.contains("negative distortion"), "{e}");
        let e = err("c.csv", "layer,level,params,distortion\nfc,0,ten,1\n");
        assert!(e.contains("c.csv:2") && e.contains("params cost \"ten\""), "{e}");
        let e = err("d.csv", "layer,level,distortion\nfc,0,1\n");
        assert!(e.contains("no \"params\""), "{e}");
        let e = err("e.csv", "layer,level,params,distortion\nfc,0,10,1\nfc,0,5,2\n");
        assert!(
            e.contains("e.csv:3") && e.contains("level 0 appears twice"),
            "{e}"
        );
        let dup = r#"{"layers": [{"name": "x", "options": [{"level": 0, "cost": {"params": 1}, "distortion": 0}]},
                                 {"name": "x", "options": [{"level": 0, "cost": {"params": 1}, "distortion": 0}]}]}"#;
        let e = err("f.json", dup);
        assert!(e.contains("duplicate layer name \"x\""), "{e}");
        let neg = r#"{"layers": [{"name": "x", "options": [{"level": 3, "cost": {"params": 1}, "distortion": -2}]}]}"#;
        let e = err("g.json", neg);
        assert!(
            e.contains("layer \"x\"") && e.contains("level 3") && e.contains("negative distortion"),
            "{e}"
        );
        let e = err(
            "h.json",
            r#"{"layers": [{"name": "x", "options": [{"level": 0, "cost": {"params": 1}, "distortion": NaN}]}]}"#,
        );
        assert!(
            e.contains("h.json:1") && e.contains("not a valid options table"),
            "{e}"
        );
        let mixed = r#"{"layers": [{"name": "x", "options": [{"level": 0, "cost": {"params": 1, "flops": 2}, "distortion": 0},
                                                              {"level": 1, "cost": {"params": 1}, "distortion": 0}]}]}"#;
        let e = err("i.json", mixed);
        assert!(e.contains("no \"flops\" cost"), "{e}");
        let e = err("j.json", r#"{"layers": []}"#);
        assert!(e.contains("no layers"), "{e}");
        let e = err("k.txt", "");
        assert!(e.contains("expected a .json or .csv"), "{e}");
    }
}
