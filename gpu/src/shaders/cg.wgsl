// Jacobi-preconditioned conjugate gradients for a batch of systems, every scalar kept on the
// device: the host launches a fixed sequence of kernels per iteration and reads back only the
// scalar block S (8 values per system) when it wants to check convergence.
//
// S[8s + ..]: 0 rz = rᵀz, 1 pq = pᵀAp, 2 alpha, 3 beta, 4 rr = ‖r‖², 5 bb = ‖b‖²,
//             6 state (1 running, 0 converged, -1 breakdown: pᵀAp ≤ 0 or not finite),
//             7 iterations done.
// part[(2s + w)·np + wg]: partial sums, w = 0 (rz or pq) and w = 1 (rr).
// P.n: unknowns per system; P.k: np; P.a: stride of dinv between systems (0 or n);
// P.c: bits of the f32 tol² (converged when rr ≤ tol²·bb).
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> S: array<T>;
@group(0) @binding(2) var<storage, read_write> part: array<T>;
@group(0) @binding(3) var<storage, read> b: array<T>;
@group(0) @binding(4) var<storage, read> dinv: array<T>;
@group(0) @binding(5) var<storage, read_write> x: array<T>;
@group(0) @binding(6) var<storage, read_write> r: array<T>;
@group(0) @binding(7) var<storage, read_write> z: array<T>;
@group(0) @binding(8) var<storage, read_write> p: array<T>;
@group(0) @binding(9) var<storage, read> q: array<T>;

fn part_sum(lid: u32, region: u32) -> T {
    var acc = T(0.0);
    for (var i = lid; i < P.k; i = i + WG) {
        acc = acc + part[region * P.k + i];
    }
    return acc;
}

// x = 0, r = b, z = D⁻¹r, p = z; partials of rz and rr.
@compute @workgroup_size(256)
fn init(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = wid.y;
    let o = s * P.n;
    let d = s * P.a;
    let stride = nwg.x * WG;
    var rz = T(0.0);
    var rr = T(0.0);
    for (var i = wid.x * WG + lid; i < P.n; i = i + stride) {
        let ri = b[o + i];
        let zi = dinv[d + i] * ri;
        x[o + i] = T(0.0);
        r[o + i] = ri;
        z[o + i] = zi;
        p[o + i] = zi;
        rz = rz + ri * zi;
        rr = rr + ri * ri;
    }
    let t = wg_sum2(lid, rz, rr);
    if (lid == 0u) {
        part[(2u * s) * P.k + wid.x] = t.x;
        part[(2u * s + 1u) * P.k + wid.x] = t.y;
    }
}

@compute @workgroup_size(256)
fn init_finish(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let s = wid.y;
    let t = wg_sum2(lid, part_sum(lid, 2u * s), part_sum(lid, 2u * s + 1u));
    if (lid == 0u) {
        S[8u * s + 0u] = t.x;
        S[8u * s + 1u] = T(0.0);
        S[8u * s + 2u] = T(0.0);
        S[8u * s + 3u] = T(0.0);
        S[8u * s + 4u] = t.y;
        S[8u * s + 5u] = t.y;
        S[8u * s + 6u] = select(T(0.0), T(1.0), t.y > T(0.0));
        S[8u * s + 7u] = T(0.0);
    }
}

// partials of pᵀq (q = A p)
@compute @workgroup_size(256)
fn pq(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
      @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = wid.y;
    let o = s * P.n;
    let stride = nwg.x * WG;
    var acc = T(0.0);
    for (var i = wid.x * WG + lid; i < P.n; i = i + stride) {
        acc = acc + p[o + i] * q[o + i];
    }
    let t = wg_sum1(lid, acc);
    if (lid == 0u) {
        part[(2u * s) * P.k + wid.x] = t;
    }
}

// alpha = rz / pq for running systems; a non-positive or non-finite pq stops the system.
@compute @workgroup_size(256)
fn alpha(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let s = wid.y;
    let pq = wg_sum1(lid, part_sum(lid, 2u * s));
    if (lid == 0u) {
        S[8u * s + 1u] = pq;
        var al = T(0.0);
        if (S[8u * s + 6u] > T(0.5)) {
            // pq > 0 is false for NaN too
            if (pq > T(0.0)) {
                al = S[8u * s + 0u] / pq;
            } else {
                S[8u * s + 6u] = T(-1.0);
            }
        }
        S[8u * s + 2u] = al;
    }
}

// x += αp, r −= αq, z = D⁻¹r; partials of rz and rr.
@compute @workgroup_size(256)
fn update(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = wid.y;
    let o = s * P.n;
    let d = s * P.a;
    let al = S[8u * s + 2u];
    let stride = nwg.x * WG;
    var rz = T(0.0);
    var rr = T(0.0);
    for (var i = wid.x * WG + lid; i < P.n; i = i + stride) {
        x[o + i] = x[o + i] + al * p[o + i];
        let ri = r[o + i] - al * q[o + i];
        let zi = dinv[d + i] * ri;
        r[o + i] = ri;
        z[o + i] = zi;
        rz = rz + ri * zi;
        rr = rr + ri * ri;
    }
    let t = wg_sum2(lid, rz, rr);
    if (lid == 0u) {
        part[(2u * s) * P.k + wid.x] = t.x;
        part[(2u * s + 1u) * P.k + wid.x] = t.y;
    }
}

// beta = rz_new / rz; convergence test on rr.
@compute @workgroup_size(256)
fn beta(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let s = wid.y;
    let t = wg_sum2(lid, part_sum(lid, 2u * s), part_sum(lid, 2u * s + 1u));
    if (lid == 0u) {
        var be = T(0.0);
        if (S[8u * s + 6u] > T(0.5)) {
            let rz_old = S[8u * s + 0u];
            if (rz_old != T(0.0)) {
                be = t.x / rz_old;
            }
            S[8u * s + 0u] = t.x;
            S[8u * s + 4u] = t.y;
            S[8u * s + 7u] = S[8u * s + 7u] + T(1.0);
            let tol2 = T(bitcast<f32>(P.c));
            if (t.y <= tol2 * S[8u * s + 5u]) {
                S[8u * s + 6u] = T(0.0);
            } else if (!(t.y == t.y) || !(t.x == t.x)) {
                S[8u * s + 6u] = T(-1.0);
            }
        }
        S[8u * s + 3u] = be;
    }
}

// p = z + βp for running systems.
@compute @workgroup_size(256)
fn pupdate(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = wid.y;
    if (S[8u * s + 6u] > T(0.5)) {
        let o = s * P.n;
        let be = S[8u * s + 3u];
        let stride = nwg.x * WG;
        for (var i = wid.x * WG + lid; i < P.n; i = i + stride) {
            p[o + i] = z[o + i] + be * p[o + i];
        }
    }
}
