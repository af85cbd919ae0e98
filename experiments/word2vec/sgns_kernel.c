/* word2vec SGNS as word2vec.c / gensim run it: per-pair SGD, Hogwild threads on shared tables.
 *
 * Compiled once by sgns_native.py (gcc -O3 -march=native -fopenmp) and called through ctypes. The
 * `omp simd` pragmas let the compiler vectorise the dot products (a reduction it may not reorder on
 * its own); when tied, W == C and a row may meet itself, so the loops keep plain (aliasing) pointers.
 *
 * sgns_pairs:  one thread, explicit (input, output) pairs and negatives; the exact per-pair update,
 *              used by the tests against a float64 reference.
 * sgns_stream: a chunk of the token stream split into one slice per thread. Each thread subsamples its
 *              slice (keep word w with probability keep[w]), then for every kept position draws a
 *              reduced window b uniform in 1..L and trains every kept context within b positions in
 *              the same article: the context word's input row against the centre word's output row
 *              and k noise rows drawn from an alias table (word2vec's orientation). The learning rate
 *              falls linearly from lr_start to lr_end across each slice.
 * The update for one (input i, output o) pair, as word2vec.c: for o and each noise word n != o,
 *   g = lr (label - sigmoid(W_i . C_o));  e += g C_o;  C_o += g W_i;   then W_i += e.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline uint64_t rng_next(uint64_t *s) {        /* xorshift64* */
    uint64_t x = *s;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static inline double rng_unif(uint64_t *s) { return (rng_next(s) >> 11) * (1.0 / 9007199254740992.0); }

static inline int64_t alias_draw(const double *prob, const int64_t *alias, int64_t V, uint64_t *s) {
    int64_t k = (int64_t)(rng_unif(s) * (double)V);
    if (k >= V) k = V - 1;
    return rng_unif(s) < prob[k] ? k : alias[k];
}

static inline double softplus(double x) { return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x)); }

/* One positive (i, o) and its negatives; returns the summed logistic loss. neg: k ids or NULL (draw). */
static double train_pair(float *W, float *C, int d, int64_t i, int64_t o, const int64_t *neg, int k,
                         const double *prob, const int64_t *alias, int64_t V, float lr, float *e, uint64_t *s) {
    float *wi = W + i * d;
    double loss = 0.0;
    memset(e, 0, sizeof(float) * d);
    for (int j = 0; j <= k; j++) {
        int64_t t = j == 0 ? o : (neg ? neg[j - 1] : alias_draw(prob, alias, V, s));
        if (j > 0 && t == o) continue;                       /* word2vec skips a noise word equal to the target */
        float *ct = C + t * d;
        float f = 0.0f;
        #pragma omp simd reduction(+:f)
        for (int a = 0; a < d; a++) f += wi[a] * ct[a];
        float label = j == 0 ? 1.0f : 0.0f;
        float g = lr * (label - 1.0f / (1.0f + expf(-f)));
        loss += j == 0 ? softplus(-(double)f) : softplus((double)f);
        #pragma omp simd
        for (int a = 0; a < d; a++) { e[a] += g * ct[a]; ct[a] += g * wi[a]; }
    }
    for (int a = 0; a < d; a++) wi[a] += e[a];
    return loss;
}

double sgns_pairs(float *W, float *C, int64_t V, int d, const int64_t *inp, const int64_t *out,
                  const int64_t *neg, int k, int64_t n, const float *lrs) {
    float *e = malloc(sizeof(float) * d);
    double loss = 0.0;
    for (int64_t p = 0; p < n; p++)
        loss += train_pair(W, C, d, inp[p], out[p], neg + p * k, k, NULL, NULL, V, lrs[p], e, NULL);
    free(e);
    return loss;
}

/* Trains one thread's slice [lo, hi) of the chunk; adds its pair count and loss to acc[0], acc[1]. */
static void stream_slice(float *W, float *C, int64_t V, int d, const int32_t *tok, const int32_t *doc,
                         int64_t lo, int64_t hi, const float *keep, const double *prob, const int64_t *alias,
                         int k, int L, double lr_start, double lr_end, uint64_t seed, double *acc) {
    uint64_t s = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL;
    if (!s) s = 1;
    int64_t m = 0;
    int32_t *kt = malloc(sizeof(int32_t) * (hi - lo + 1)), *kd = malloc(sizeof(int32_t) * (hi - lo + 1));
    int64_t *pos = malloc(sizeof(int64_t) * (hi - lo + 1));
    float *e = malloc(sizeof(float) * d);
    for (int64_t p = lo; p < hi; p++)                        /* subsample first, then window over kept words */
        if (keep[tok[p]] >= 1.0f || rng_unif(&s) < keep[tok[p]]) { kt[m] = tok[p]; kd[m] = doc[p]; pos[m] = p; m++; }
    double pairs = 0.0, loss = 0.0, span = (double)(hi - lo);
    for (int64_t p = 0; p < m; p++) {
        float lr = (float)(lr_start + (lr_end - lr_start) * (double)(pos[p] - lo) / span);
        int b = 1 + (int)(rng_unif(&s) * L);
        if (b > L) b = L;
        int64_t a0 = p - b < 0 ? 0 : p - b, a1 = p + b >= m ? m - 1 : p + b;
        for (int64_t q = a0; q <= a1; q++) {
            if (q == p || kd[q] != kd[p]) continue;
            loss += train_pair(W, C, d, kt[q], kt[p], NULL, k, prob, alias, V, lr, e, &s);
            pairs += 1.0;
        }
    }
    free(kt); free(kd); free(pos); free(e);
    #pragma omp atomic
    acc[0] += pairs;
    #pragma omp atomic
    acc[1] += loss;
}

void sgns_stream(float *W, float *C, int64_t V, int d, const int32_t *tok, const int32_t *doc, int64_t n,
                 const float *keep, const double *prob, const int64_t *alias, int k, int L,
                 double lr_start, double lr_end, int threads, uint64_t seed, double *acc) {
    #pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (int t = 0; t < threads; t++) {
        /* the threads run concurrently, so each sweeps the chunk's lr range over its own slice */
        int64_t lo = n * t / threads, hi = n * (t + 1) / threads;
        stream_slice(W, C, V, d, tok, doc, lo, hi, keep, prob, alias, k, L, lr_start, lr_end,
                     seed + (uint64_t)t * 1000003ULL, acc);
    }
}
