// Shared by every kernel. The host prepends `alias T = f32;` or `alias T = f64;`.
//
// Every kernel reads its sizes from one uniform block; what each field means is
// documented per kernel. Kernels use grid-stride loops over the x dimension, so
// the host may launch fewer workgroups than elements; the y dimension indexes
// the system of a batch (or the basis vector of a multi-dot).
struct Params {
    n: u32,
    k: u32,
    a: u32,
    b: u32,
    c: u32,
    d: u32,
    e: u32,
    f: u32,
}

const WG: u32 = 256u;

var<workgroup> sh1: array<T, 256>;
var<workgroup> sh2: array<T, 256>;

// Sum of `v` over the workgroup (every invocation must call it).
fn wg_sum1(lid: u32, v: T) -> T {
    sh1[lid] = v;
    workgroupBarrier();
    for (var o = 128u; o > 0u; o = o >> 1u) {
        if (lid < o) {
            sh1[lid] = sh1[lid] + sh1[lid + o];
        }
        workgroupBarrier();
    }
    let r = sh1[0];
    workgroupBarrier();
    return r;
}

// Two sums at once (one barrier sequence for both).
fn wg_sum2(lid: u32, v: T, w: T) -> vec2<T> {
    sh1[lid] = v;
    sh2[lid] = w;
    workgroupBarrier();
    for (var o = 128u; o > 0u; o = o >> 1u) {
        if (lid < o) {
            sh1[lid] = sh1[lid] + sh1[lid + o];
            sh2[lid] = sh2[lid] + sh2[lid + o];
        }
        workgroupBarrier();
    }
    let r = vec2<T>(sh1[0], sh2[0]);
    workgroupBarrier();
    return r;
}
