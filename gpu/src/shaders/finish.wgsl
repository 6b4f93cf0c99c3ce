// out[s] = Σ part[s·np .. s·np + np]: the second pass of a reduction, one workgroup per sum.
// P.k: np (partials per sum).
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> part: array<T>;
@group(0) @binding(2) var<storage, read_write> out: array<T>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let o = wid.y * P.k;
    var acc = T(0.0);
    for (var i = lid; i < P.k; i = i + WG) {
        acc = acc + part[o + i];
    }
    let t = wg_sum1(lid, acc);
    if (lid == 0u) {
        out[wid.y] = t;
    }
}
