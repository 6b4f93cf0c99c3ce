// Device-resident GMRES(m) building blocks for a batch of systems (s = workgroup y, or
// y / count in the multi-dot). System s has its basis V[s·ldv .. (s+1)·ldv) (ldv = m+1 vectors
// of length n), its vectors w, z, x, b at s·n, its Gram–Schmidt coefficients hp[s·ldv ..] and
// Hessenberg column hc[s·(ldv+1) ..]; the host reads back only hc once per Arnoldi step.
// P.n: n; P.k: np (partials per sum); P.a: basis column j (jscale), or for mdot_finish 0 to
// set hc and 1 to add to it; P.b: vector count (mdot, mdot_finish, gs_sub, combine);
// P.c: target index (nrm_finish, normalize); P.d: first column (combine); P.e: ldv;
// P.f: stride of dinv between systems (0: shared, n: one per system).
// The GCRO-DR kernels further down serve one system.
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
    let s = wid.y;
    let o = (s * P.e + P.a) * P.n;
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        z[s * P.n + i] = dinv[s * P.f + i] * V[o + i];
    }
}

// partials of V_s[:, v]ᵀ w_s, workgroup y = s·count + v (the fused multi-dot of Gram–Schmidt)
@compute @workgroup_size(256)
fn mdot(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = wid.y / P.b;
    let v = wid.y % P.b;
    let o = (s * P.e + v) * P.n;
    let ow = s * P.n;
    var acc = T(0.0);
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        acc = acc + V[o + i] * w[ow + i];
    }
    let t = wg_sum1(lid, acc);
    if (lid == 0u) {
        part[wid.y * P.k + wid.x] = t;
    }
}

@compute @workgroup_size(256)
fn mdot_finish(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let s = wid.y / P.b;
    let v = wid.y % P.b;
    var acc = T(0.0);
    for (var i = lid; i < P.k; i = i + WG) {
        acc = acc + part[wid.y * P.k + i];
    }
    let t = wg_sum1(lid, acc);
    if (lid == 0u) {
        hp[s * P.e + v] = t;
        let h = s * (P.e + 1u) + v;
        if (P.a == 0u) {
            hc[h] = t;
        } else {
            hc[h] = hc[h] + t;
        }
    }
}

// w_s −= V_s[:, 0..count] hp_s
@compute @workgroup_size(256)
fn gs_sub(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
          @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = wid.y;
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        var acc = w[s * P.n + i];
        for (var v = 0u; v < P.b; v = v + 1u) {
            acc = acc - V[(s * P.e + v) * P.n + i] * hp[s * P.e + v];
        }
        w[s * P.n + i] = acc;
    }
}

// partials of ‖w_s‖²
@compute @workgroup_size(256)
fn sq(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
      @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = wid.y;
    var acc = T(0.0);
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        let wi = w[s * P.n + i];
        acc = acc + wi * wi;
    }
    let t = wg_sum1(lid, acc);
    if (lid == 0u) {
        part[s * P.k + wid.x] = t;
    }
}

// hc_s[c] = ‖w_s‖
@compute @workgroup_size(256)
fn nrm_finish(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let s = wid.y;
    var acc = T(0.0);
    for (var i = lid; i < P.k; i = i + WG) {
        acc = acc + part[s * P.k + i];
    }
    let t = wg_sum1(lid, acc);
    if (lid == 0u) {
        hc[s * (P.e + 1u) + P.c] = sqrt(t);
    }
}

// v_{s,c} = w_s / hc_s[c]
@compute @workgroup_size(256)
fn normalize(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
             @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = wid.y;
    let h = hc[s * (P.e + 1u) + P.c];
    var inv = T(0.0);
    if (h > T(0.0)) {
        inv = T(1.0) / h;
    }
    let o = (s * P.e + P.c) * P.n;
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        V[o + i] = w[s * P.n + i] * inv;
    }
}

// x_s += D⁻¹ V_s[:, d..d+count] y_s
@compute @workgroup_size(256)
fn combine(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
           @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = wid.y;
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        var acc = T(0.0);
        for (var v = 0u; v < P.b; v = v + 1u) {
            acc = acc + V[(s * P.e + P.d + v) * P.n + i] * ycoef[s * P.e + v];
        }
        x[s * P.n + i] = x[s * P.n + i] + dinv[s * P.f + i] * acc;
    }
}

// w_s = b_s − w_s (w holds A x)
@compute @workgroup_size(256)
fn residual(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>,
            @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = wid.y;
    for (var i = wid.x * WG + lid; i < P.n; i = i + nwg.x * WG) {
        w[s * P.n + i] = b[s * P.n + i] - w[s * P.n + i];
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
