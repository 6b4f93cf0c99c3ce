// Vector kernels on batches: system s = workgroup y index, its vectors start at s·n.

// part[s·np + wg] = Σ x·y over the workgroup's grid-stride slice. P.n: length; np = workgroups in x.
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> x: array<T>;
@group(0) @binding(2) var<storage, read> y: array<T>;
@group(0) @binding(3) var<storage, read_write> part: array<T>;

@compute @workgroup_size(256)
fn dot_partial(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
               @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = wid.y * P.n;
    let stride = nwg.x * WG;
    var acc = T(0.0);
    for (var i = wid.x * WG + lid; i < P.n; i = i + stride) {
        acc = acc + x[o + i] * y[o + i];
    }
    let t = wg_sum1(lid, acc);
    if (lid == 0u) {
        part[wid.y * nwg.x + wid.x] = t;
    }
}
