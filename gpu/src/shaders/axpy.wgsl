// y = alpha·x + beta·y on a batch, with alpha and beta per system read from `coef`
// (coef[2s], coef[2s+1]): the host writes them once, no read-back needed. P.n: length.
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> coef: array<T>;
@group(0) @binding(2) var<storage, read> x: array<T>;
@group(0) @binding(3) var<storage, read_write> y: array<T>;

@compute @workgroup_size(256)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = wid.y;
    let o = s * P.n;
    let al = coef[2u * s];
    let be = coef[2u * s + 1u];
    let stride = nwg.x * WG;
    for (var i = wid.x * WG + lid; i < P.n; i = i + stride) {
        y[o + i] = al * x[o + i] + be * y[o + i];
    }
}
