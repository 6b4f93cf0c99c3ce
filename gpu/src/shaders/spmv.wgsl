// y = A x for a batch of square CSR matrices sharing one pattern.
// P.n: rows; P.a: value stride between systems (0: one matrix for every right-hand side, else nnz);
// P.c: offset of x in its buffer; P.d: offset of y. System s = workgroup y index; vectors of
// system s start at s·n.
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read> rp: array<u32>;
@group(0) @binding(2) var<storage, read> ci: array<u32>;
@group(0) @binding(3) var<storage, read> va: array<T>;
@group(0) @binding(4) var<storage, read> x: array<T>;
@group(0) @binding(5) var<storage, read_write> y: array<T>;

// One invocation per row: stencil matrices (a handful of entries per row).
@compute @workgroup_size(256)
fn row(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
       @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = wid.y;
    let vo = s * P.a;
    let xo = P.c + s * P.n;
    let yo = P.d + s * P.n;
    let stride = nwg.x * WG;
    for (var i = wid.x * WG + lid; i < P.n; i = i + stride) {
        var acc = T(0.0);
        let end = rp[i + 1u];
        for (var k = rp[i]; k < end; k = k + 1u) {
            acc = acc + va[vo + k] * x[xo + ci[k]];
        }
        y[yo + i] = acc;
    }
}

// 32 invocations per row, 8 rows per workgroup: long rows (coalesced reads of a row's entries).
@compute @workgroup_size(256)
fn warp(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = wid.y;
    let vo = s * P.a;
    let xo = P.c + s * P.n;
    let yo = P.d + s * P.n;
    let lane = lid % 32u;
    let slot = lid / 32u;
    let step = nwg.x * 8u;
    for (var base = wid.x * 8u; base < P.n; base = base + step) {
        let i = base + slot;
        var acc = T(0.0);
        if (i < P.n) {
            let end = rp[i + 1u];
            for (var k = rp[i] + lane; k < end; k = k + 32u) {
                acc = acc + va[vo + k] * x[xo + ci[k]];
            }
        }
        sh1[lid] = acc;
        workgroupBarrier();
        for (var o = 16u; o > 0u; o = o >> 1u) {
            if (lane < o) {
                sh1[lid] = sh1[lid] + sh1[lid + o];
            }
            workgroupBarrier();
        }
        if (lane == 0u && i < P.n) {
            y[yo + i] = sh1[lid];
        }
        workgroupBarrier();
    }
}
