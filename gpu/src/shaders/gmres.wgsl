// Device-resident GMRES(m) building blocks (one system). The basis V holds m+1 vectors of
// length n; Gram–Schmidt coefficients stay on the device (hp: this pass, hc: the Hessenberg
// column), the host reads back only hc once per Arnoldi step.
// P.n: n; P.k: np (partials per sum); P.a: basis column j (jscale); P.b: vector count
// (mdot, gs_sub, combine); P.c: target index (nrm_finish, normalize); for mdot_finish P.a: 0
// sets hc, 1 adds to it.
@group(0) @binding(0) var<uniform> P: Params;
@group(0) @binding(1) var<storage, read_write> V: array<T>;
@group(0) @binding(2) var<storage, read_write> w: array<T>;
@group(0) @binding(3) var<storage, read_write> z: array<T>;
@group(0) @binding(4) var<storage, read> dinv: array<T>;
@group(0) @binding(5) var<storage, read_write> part: array<T>;
@group(0) @binding(6) var<storage, read_write> hp: array<T>;
@group(0) @binding(7) var<storage, read_write> hc: array<T>;
@group(0) @binding(8) var<storage, read_write> x: array<T>;
@group(0) @binding(9) var<storage, read> b: array<T>;
@group(0) @binding(10) var<storage, read> ycoef: array<T>;
// GCRO-DR: the recycled U (k columns), a k-column output block, a coefficient matrix
@group(0) @binding(11) var<storage, read_write> U: array<T>;
@group(0) @binding(12) var<storage, read_write> outb: array<T>;
@group(0) @binding(13) var<storage, read> mcoef: array<T>;

// z = D⁻¹ v_j (right preconditioning)
@compute @workgroup_size(256)
fn jscale(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = P.a * P.n;
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        z[i] = dinv[i] * V[o + i];
    }
}

// partials of V[:, v]ᵀw for v = workgroup y (the fused multi-dot of Gram–Schmidt)
@compute @workgroup_size(256)
fn mdot(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = wid.y * P.n;
    var acc = T(0.0);
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        acc = acc + V[o + i] * w[i];
    }
    let t = wg_sum1(lid, acc);
    if (lid == 0u) {
        part[wid.y * P.k + wid.x] = t;
    }
}

@compute @workgroup_size(256)
fn mdot_finish(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let v = wid.y;
    var acc = T(0.0);
    for (var i = lid; i < P.k; i = i + WG) {
        acc = acc + part[v * P.k + i];
    }
    let t = wg_sum1(lid, acc);
    if (lid == 0u) {
        hp[v] = t;
        if (P.a == 0u) {
            hc[v] = t;
        } else {
            hc[v] = hc[v] + t;
        }
    }
}

// w −= V[:, 0..count] hp
@compute @workgroup_size(256)
fn gs_sub(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>) {
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        var acc = w[i];
        for (var v = 0u; v < P.b; v = v + 1u) {
            acc = acc - V[v * P.n + i] * hp[v];
        }
        w[i] = acc;
    }
}

// partials of ‖w‖²
@compute @workgroup_size(256)
fn sq(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
      @builtin(num_workgroups) nwg: vec3<u32>) {
    var acc = T(0.0);
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        acc = acc + w[i] * w[i];
    }
    let t = wg_sum1(lid, acc);
    if (lid == 0u) {
        part[wid.x] = t;
    }
}

// hc[c] = ‖w‖
@compute @workgroup_size(256)
fn nrm_finish(@builtin(local_invocation_index) lid: u32) {
    var acc = T(0.0);
    for (var i = lid; i < P.k; i = i + WG) {
        acc = acc + part[i];
    }
    let t = wg_sum1(lid, acc);
    if (lid == 0u) {
        hc[P.c] = sqrt(t);
    }
}

// v_c = w / hc[c]
@compute @workgroup_size(256)
fn normalize(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
             @builtin(num_workgroups) nwg: vec3<u32>) {
    let h = hc[P.c];
    var inv = T(0.0);
    if (h > T(0.0)) {
        inv = T(1.0) / h;
    }
    let o = P.c * P.n;
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        V[o + i] = w[i] * inv;
    }
}

// x += D⁻¹ V[:, d..d+count] y   (P.d: first column)
@compute @workgroup_size(256)
fn combine(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        var acc = T(0.0);
        for (var v = 0u; v < P.b; v = v + 1u) {
            acc = acc + V[(P.d + v) * P.n + i] * ycoef[v];
        }
        x[i] = x[i] + dinv[i] * acc;
    }
}

// w = b − w (w holds A x)
@compute @workgroup_size(256)
fn residual(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>) {
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        w[i] = b[i] - w[i];
    }
}

// x += D⁻¹ U[:, 0..count] coef, coef from `ycoef` (host-written)
@compute @workgroup_size(256)
fn combine_u(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
             @builtin(num_workgroups) nwg: vec3<u32>) {
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        var acc = T(0.0);
        for (var v = 0u; v < P.b; v = v + 1u) {
            acc = acc + U[v * P.n + i] * ycoef[v];
        }
        x[i] = x[i] + dinv[i] * acc;
    }
}

// x += D⁻¹ U[:, 0..count] hp (the projection coefficients left on the device)
@compute @workgroup_size(256)
fn combine_u_hp(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
                @builtin(num_workgroups) nwg: vec3<u32>) {
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        var acc = T(0.0);
        for (var v = 0u; v < P.b; v = v + 1u) {
            acc = acc + U[v * P.n + i] * hp[v];
        }
        x[i] = x[i] + dinv[i] * acc;
    }
}

// z = D⁻¹ u_a
@compute @workgroup_size(256)
fn jscale_u(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>) {
    let o = P.a * P.n;
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        z[i] = dinv[i] * U[o + i];
    }
}

// Gram blocks: partials of X[:, r]ᵀ Y[:, c] for r < P.b rows, c = idx / P.b, idx = workgroup y.
@compute @workgroup_size(256)
fn gram_vu(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = wid.y % P.b;
    let c = wid.y / P.b;
    var acc = T(0.0);
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        acc = acc + V[r * P.n + i] * U[c * P.n + i];
    }
    let t = wg_sum1(lid, acc);
    if (lid == 0u) {
        part[wid.y * P.k + wid.x] = t;
    }
}

@compute @workgroup_size(256)
fn gram_vv(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = wid.y % P.b;
    let c = wid.y / P.b;
    var acc = T(0.0);
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        acc = acc + V[r * P.n + i] * V[c * P.n + i];
    }
    let t = wg_sum1(lid, acc);
    if (lid == 0u) {
        part[wid.y * P.k + wid.x] = t;
    }
}

@compute @workgroup_size(256)
fn gram_uu(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
    let r = wid.y % P.b;
    let c = wid.y / P.b;
    var acc = T(0.0);
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        acc = acc + U[r * P.n + i] * U[c * P.n + i];
    }
    let t = wg_sum1(lid, acc);
    if (lid == 0u) {
        part[wid.y * P.k + wid.x] = t;
    }
}

// Block combinations: outb[:, c] (= or +=) X[:, 0..P.b] mcoef[:, c], c = workgroup y,
// mcoef column-major with leading dimension P.b; P.a: 0 sets, 1 adds.
@compute @workgroup_size(256)
fn mcombine_v(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
              @builtin(num_workgroups) nwg: vec3<u32>) {
    let c = wid.y;
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        var acc = T(0.0);
        for (var r = 0u; r < P.b; r = r + 1u) {
            acc = acc + V[r * P.n + i] * mcoef[c * P.b + r];
        }
        if (P.a == 1u) {
            acc = acc + outb[c * P.n + i];
        }
        outb[c * P.n + i] = acc;
    }
}

@compute @workgroup_size(256)
fn mcombine_u(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
              @builtin(num_workgroups) nwg: vec3<u32>) {
    let c = wid.y;
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        var acc = T(0.0);
        for (var r = 0u; r < P.b; r = r + 1u) {
            acc = acc + U[r * P.n + i] * mcoef[c * P.b + r];
        }
        if (P.a == 1u) {
            acc = acc + outb[c * P.n + i];
        }
        outb[c * P.n + i] = acc;
    }
}
