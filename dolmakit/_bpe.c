/* Compiled cl100k_base token counting for dolmakit.tokenizers (reference: bpe-openai's count).
 *
 * `Counter(ranks, fallback)` counts texts as tiktoken's cl100k_base encoding does (ordinary
 * text, no special tokens). The ASCII parts of a text are pre-tokenized here, by a hand-written
 * matcher of cl100k's `pat_str` restricted to ASCII (letters [A-Za-z], digits [0-9], whitespace
 * \t \n \v \f \r and space, as Unicode's White_Space), and each piece is merged by tiktoken's
 * byte-pair rule (the lowest-ranked adjacent pair first, the leftmost of equal ranks; a piece
 * that is itself a token is one). A piece's count is remembered while the memo has room.
 *
 * Where a text is cut: before an ASCII character other than a letter or an apostrophe that
 * follows an ASCII letter. No alternative of the pattern matches a letter and then such a
 * character (letters end `\p{L}++`, the contractions start with the apostrophe), and none looks
 * behind, so the pieces of the text are those of its parts. A part holding any non-ASCII
 * character, or a piece longer than MAX_PIECE bytes, goes to `fallback(str) -> int` (the
 * Rust counter), consecutive such parts in one call, remembered by their code units (a key
 * that starts with a byte >= 128, apart from the ASCII pieces). When the memo is full it is
 * emptied, which changes no count. tests/test_tokenizers.py checks the counts against
 * bpe-openai and tiktoken on real and random text.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_PIECE 256
#define MEMO_KEY_MAX 48
#define WIDE_KEY_MAX 257

typedef struct {
    uint64_t hash; /* 0: empty slot */
    uint32_t off;
    uint32_t len;
    int32_t value;
} slot_t;

typedef struct {
    slot_t *slots;
    size_t mask, used, limit;
    unsigned char *arena;
    size_t arena_used, arena_cap;
} table_t;

static uint64_t
hash_bytes(const unsigned char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 29;
    return h ? h : 1;
}

static int
table_init(table_t *t, size_t slots)
{
    t->slots = PyMem_Calloc(slots, sizeof(slot_t));
    t->arena_cap = 1 << 16;
    t->arena = PyMem_Malloc(t->arena_cap);
    if (t->slots == NULL || t->arena == NULL)
        return -1;
    t->mask = slots - 1;
    t->used = 0;
    t->limit = slots / 2;
    t->arena_used = 0;
    return 0;
}

static void
table_free(table_t *t)
{
    PyMem_Free(t->slots);
    PyMem_Free(t->arena);
    t->slots = NULL;
    t->arena = NULL;
}

static void
table_clear(table_t *t)
{
    memset(t->slots, 0, (t->mask + 1) * sizeof(slot_t));
    t->used = 0;
    t->arena_used = 0;
}

/* The value stored for s[0:n], or -1. */
static inline int32_t
table_get(const table_t *t, const unsigned char *s, size_t n, uint64_t h)
{
    size_t i = (size_t)h & t->mask;
    for (;;) {
        const slot_t *e = &t->slots[i];
        if (e->hash == 0)
            return -1;
        if (e->hash == h && e->len == n && memcmp(t->arena + e->off, s, n) == 0)
            return e->value;
        i = (i + 1) & t->mask;
    }
}

/* Store s[0:n] -> value (s not yet present); the table is cleared first when full. */
static int
table_put(table_t *t, const unsigned char *s, size_t n, uint64_t h, int32_t value)
{
    if (t->used >= t->limit)
        table_clear(t);
    if (t->arena_used + n > t->arena_cap) {
        size_t cap = t->arena_cap;
        while (t->arena_used + n > cap)
            cap *= 2;
        unsigned char *grown = PyMem_Realloc(t->arena, cap);
        if (grown == NULL)
            return -1;
        t->arena = grown;
        t->arena_cap = cap;
    }
    memcpy(t->arena + t->arena_used, s, n);
    size_t i = (size_t)h & t->mask;
    while (t->slots[i].hash != 0)
        i = (i + 1) & t->mask;
    t->slots[i].hash = h;
    t->slots[i].off = (uint32_t)t->arena_used;
    t->slots[i].len = (uint32_t)n;
    t->slots[i].value = value;
    t->arena_used += n;
    t->used++;
    return 0;
}

typedef struct {
    PyObject_HEAD
    table_t ranks;
    table_t memo;
    PyObject *fallback;
    unsigned char *buf;
    size_t buf_cap;
} Counter;

#define IS_LETTER(c) ((unsigned)(((c) | 0x20) - 'a') < 26u)
#define IS_DIGIT(c) ((unsigned)((c) - '0') < 10u)
#define IS_SPACE(c) ((c) == ' ' || (unsigned)((c) - 9) < 5u)
#define IS_CRLF(c) ((c) == '\r' || (c) == '\n')
#define IS_PUNCT(c) (!IS_SPACE(c) && !IS_LETTER(c) && !IS_DIGIT(c))

static Py_ssize_t call_fallback(Counter *self, PyObject *part);

static inline int32_t
rank_of(const table_t *ranks, const unsigned char *s, size_t n)
{
    return table_get(ranks, s, n, hash_bytes(s, n));
}

/* tiktoken's byte_pair_merge: the number of tokens of one piece (n <= MAX_PIECE). */
static Py_ssize_t
merge_count(const table_t *ranks, const unsigned char *s, size_t n)
{
    if (n <= 1 || rank_of(ranks, s, n) >= 0)
        return n ? 1 : 0;
    /* parts: start offsets of the current tokens, plus n; rank[i]: rank of parts i..i+2 */
    size_t start[MAX_PIECE + 1];
    int64_t rank[MAX_PIECE + 1];
    size_t m = n + 1;
    for (size_t i = 0; i < m; i++) {
        start[i] = i;
        rank[i] = INT64_MAX;
    }
    for (size_t i = 0; i + 2 < m; i++) {
        int32_t r = rank_of(ranks, s + i, 2);
        rank[i] = r >= 0 ? r : INT64_MAX;
    }
    for (;;) {
        if (m < 3)
            break;
        int64_t best = INT64_MAX;
        size_t at = 0;
        for (size_t i = 0; i + 2 < m; i++)
            if (rank[i] < best) {
                best = rank[i];
                at = i;
            }
        if (best == INT64_MAX)
            break;
        /* merge part at with at+1: drop start[at+1] */
        memmove(&start[at + 1], &start[at + 2], (m - at - 2) * sizeof(size_t));
        memmove(&rank[at + 1], &rank[at + 2], (m - at - 3) * sizeof(int64_t));
        m--;
        /* recompute rank[at] and rank[at-1] */
        if (at + 2 < m) {
            int32_t r = rank_of(ranks, s + start[at], start[at + 2] - start[at]);
            rank[at] = r >= 0 ? r : INT64_MAX;
        }
        else
            rank[at] = INT64_MAX;
        if (at > 0) {
            int32_t r = rank_of(ranks, s + start[at - 1], start[at + 1] - start[at - 1]);
            rank[at - 1] = r >= 0 ? r : INT64_MAX;
        }
    }
    return (Py_ssize_t)(m - 1);
}

/* Call the fallback counter on text[s:e], remembered by its code units; -1 on error. */
static Py_ssize_t
fallback_count(Counter *self, PyObject *text, Py_ssize_t s, Py_ssize_t e)
{
    unsigned char key[WIDE_KEY_MAX];
    int kind = PyUnicode_KIND(text);
    size_t n = (size_t)(e - s) * (size_t)kind;
    uint64_t h = 0;
    if (n < WIDE_KEY_MAX) {
        /* the first byte (>= 128) keeps these keys apart from ASCII pieces */
        key[0] = (unsigned char)(0x80 | kind);
        memcpy(key + 1, (const char *)PyUnicode_DATA(text) + (size_t)s * (size_t)kind, n);
        h = hash_bytes(key, n + 1);
        int32_t known = table_get(&self->memo, key, n + 1, h);
        if (known >= 0)
            return known;
    }
    Py_ssize_t v = call_fallback(self, PyUnicode_Substring(text, s, e));
    if (v >= 0 && n < WIDE_KEY_MAX && v <= INT32_MAX &&
        table_put(&self->memo, key, n + 1, h, (int32_t)v) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    return v;
}

/* Call the fallback counter on `part` (a new reference, released here); -1 on error. */
static Py_ssize_t
call_fallback(Counter *self, PyObject *part)
{
    if (part == NULL)
        return -1;
    PyObject *r = PyObject_CallOneArg(self->fallback, part);
    Py_DECREF(part);
    if (r == NULL)
        return -1;
    Py_ssize_t v = PyLong_AsSsize_t(r);
    Py_DECREF(r);
    if (v < 0 && !PyErr_Occurred()) {
        PyErr_SetString(PyExc_ValueError, "the fallback counter returned a negative count");
        return -1;
    }
    return v;
}

/* Count one piece s[0:n] (ASCII): remembered, merged here, or (too long) by the fallback. */
static Py_ssize_t
piece_count(Counter *self, const unsigned char *s, size_t n)
{
    if (n > MAX_PIECE)
        return call_fallback(self, PyUnicode_DecodeASCII((const char *)s, (Py_ssize_t)n, NULL));
    if (n > MEMO_KEY_MAX)
        return merge_count(&self->ranks, s, n);
    uint64_t h = hash_bytes(s, n);
    int32_t known = table_get(&self->memo, s, n, h);
    if (known >= 0)
        return known;
    Py_ssize_t v = merge_count(&self->ranks, s, n);
    if (table_put(&self->memo, s, n, h, (int32_t)v) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    return v;
}

/* Length of the cl100k piece that starts at s[p] (ASCII, p < n; "$" is n). */
static size_t
piece_at(const unsigned char *s, size_t p, size_t n)
{
    unsigned char c = s[p];
    if (c == '\'' && p + 1 < n) {
        unsigned char a = s[p + 1] | 0x20;
        if (a == 's' || a == 'd' || a == 'm' || a == 't')
            return 2;
        if (p + 2 < n) {
            unsigned char b = s[p + 2] | 0x20;
            if ((a == 'l' && b == 'l') || (a == 'v' && b == 'e') || (a == 'r' && b == 'e'))
                return 3;
        }
    }
    if (IS_LETTER(c) || (!IS_CRLF(c) && !IS_DIGIT(c) && p + 1 < n && IS_LETTER(s[p + 1]))) {
        size_t q = p + 1;
        while (q < n && IS_LETTER(s[q]))
            q++;
        return q - p;
    }
    if (IS_DIGIT(c)) {
        size_t q = p + 1;
        while (q < n && q < p + 3 && IS_DIGIT(s[q]))
            q++;
        return q - p;
    }
    {
        size_t q = p;
        if (c == ' ' && p + 1 < n && IS_PUNCT(s[p + 1]))
            q++;
        if (IS_PUNCT(s[q])) {
            while (q < n && IS_PUNCT(s[q]))
                q++;
            while (q < n && IS_CRLF(s[q]))
                q++;
            return q - p;
        }
    }
    /* whitespace */
    size_t q = p;
    while (q < n && IS_SPACE(s[q]))
        q++;
    if (q == n)
        return n - p; /* \s++$ */
    for (size_t r = q; r > p; r--)
        if (IS_CRLF(s[r - 1]))
            return r - p; /* \s*[\r\n] */
    if (q - p >= 2)
        return q - p - 1; /* \s+(?!\S) */
    return 1;
}

static Py_ssize_t
ascii_count(Counter *self, const unsigned char *s, size_t n)
{
    Py_ssize_t total = 0;
    size_t p = 0;
    while (p < n) {
        size_t k = piece_at(s, p, n);
        Py_ssize_t v = piece_count(self, s + p, k);
        if (v < 0)
            return -1;
        total += v;
        p += k;
    }
    return total;
}

static Py_ssize_t
text_count(Counter *self, PyObject *text)
{
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (PyUnicode_IS_ASCII(text))
        return ascii_count(self, (const unsigned char *)PyUnicode_DATA(text), (size_t)n);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    if ((size_t)n > self->buf_cap) {
        unsigned char *grown = PyMem_Realloc(self->buf, (size_t)n);
        if (grown == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        self->buf = grown;
        self->buf_cap = (size_t)n;
    }
    Py_ssize_t total = 0;
    Py_ssize_t start = 0, pending = -1; /* pending: start of uncounted non-ASCII parts */
    int wide = 0;
    for (Py_ssize_t i = 0; i <= n; i++) {
        Py_UCS4 c = i < n ? PyUnicode_READ(kind, data, i) : 0;
        int cut = i == n || (i > start && c < 128 && !IS_LETTER(c) && c != '\'' &&
                             IS_LETTER(PyUnicode_READ(kind, data, i - 1)));
        if (cut && i > start) {
            if (wide) {
                if (pending < 0)
                    pending = start;
            }
            else {
                if (pending >= 0) {
                    Py_ssize_t v = fallback_count(self, text, pending, start);
                    if (v < 0)
                        return -1;
                    total += v;
                    pending = -1;
                }
                for (Py_ssize_t j = start; j < i; j++)
                    self->buf[j - start] = (unsigned char)PyUnicode_READ(kind, data, j);
                Py_ssize_t v = ascii_count(self, self->buf, (size_t)(i - start));
                if (v < 0)
                    return -1;
                total += v;
            }
            start = i;
            wide = 0;
        }
        if (c >= 128)
            wide = 1;
    }
    if (pending >= 0) {
        Py_ssize_t v = fallback_count(self, text, pending, n);
        if (v < 0)
            return -1;
        total += v;
    }
    return total;
}

static PyObject *
Counter_count_batch(Counter *self, PyObject *texts)
{
    PyObject *seq = PySequence_Fast(texts, "texts must be a sequence of str");
    if (seq == NULL)
        return NULL;
    Py_ssize_t k = PySequence_Fast_GET_SIZE(seq);
    PyObject *out = PyList_New(k);
    if (out == NULL) {
        Py_DECREF(seq);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < k; i++) {
        PyObject *text = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyUnicode_Check(text)) {
            PyErr_Format(PyExc_TypeError, "texts[%zd] is %.100s, not str", i,
                         Py_TYPE(text)->tp_name);
            goto fail;
        }
        Py_ssize_t v = text_count(self, text);
        if (v < 0)
            goto fail;
        PyObject *n = PyLong_FromSsize_t(v);
        if (n == NULL)
            goto fail;
        PyList_SET_ITEM(out, i, n);
    }
    Py_DECREF(seq);
    return out;
fail:
    Py_DECREF(seq);
    Py_DECREF(out);
    return NULL;
}

static int
Counter_init(Counter *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"ranks", "fallback", "memo_entries", NULL};
    PyObject *ranks, *fallback;
    Py_ssize_t memo_entries = 1 << 18;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!O|n", kwlist, &PyDict_Type, &ranks,
                                     &fallback, &memo_entries))
        return -1;
    if (!PyCallable_Check(fallback)) {
        PyErr_SetString(PyExc_TypeError, "fallback must be callable");
        return -1;
    }
    if (memo_entries < 1 || memo_entries > (1 << 26)) {
        PyErr_SetString(PyExc_ValueError, "memo_entries must be in 1..2**26");
        return -1;
    }
    if (self->memo.slots != NULL)
        return 0;
    size_t memo_slots = 2;
    while (memo_slots < (size_t)memo_entries * 2)
        memo_slots *= 2;
    if (table_init(&self->ranks, 1 << 18) < 0 || table_init(&self->memo, memo_slots) < 0) {
        PyErr_NoMemory();
        return -1;
    }
    self->ranks.limit = self->ranks.mask + 1;
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(ranks, &pos, &key, &value)) {
        if (!PyBytes_Check(key) || !PyLong_Check(value)) {
            PyErr_SetString(PyExc_TypeError, "ranks must map bytes to int");
            return -1;
        }
        const unsigned char *s = (const unsigned char *)PyBytes_AS_STRING(key);
        size_t n = (size_t)PyBytes_GET_SIZE(key);
        int ascii = n > 0;
        for (size_t i = 0; i < n && ascii; i++)
            ascii = s[i] < 128;
        if (!ascii)
            continue;
        long r = PyLong_AsLong(value);
        if (r < 0 || r > INT32_MAX) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "a rank is out of range");
            return -1;
        }
        if (self->ranks.used * 2 >= self->ranks.mask + 1) {
            PyErr_SetString(PyExc_ValueError, "too many ASCII ranks");
            return -1;
        }
        uint64_t h = hash_bytes(s, n);
        if (table_get(&self->ranks, s, n, h) < 0 &&
            table_put(&self->ranks, s, n, h, (int32_t)r) < 0) {
            PyErr_NoMemory();
            return -1;
        }
    }
    Py_INCREF(fallback);
    Py_XSETREF(self->fallback, fallback);
    return 0;
}

static void
Counter_dealloc(Counter *self)
{
    table_free(&self->ranks);
    table_free(&self->memo);
    PyMem_Free(self->buf);
    Py_XDECREF(self->fallback);
    PyTypeObject *tp = Py_TYPE(self);
    tp->tp_free((PyObject *)self);
    Py_DECREF(tp);
}

static PyMethodDef Counter_methods[] = {
    {"count_batch", (PyCFunction)Counter_count_batch, METH_O,
     "Return the cl100k_base token count of each text, in order."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot Counter_slots[] = {
    {Py_tp_doc, "Counter(ranks, fallback, memo_entries=2**18): count cl100k_base tokens."},
    {Py_tp_init, Counter_init},
    {Py_tp_dealloc, Counter_dealloc},
    {Py_tp_methods, Counter_methods},
    {Py_tp_new, PyType_GenericNew},
    {0, NULL},
};

static PyType_Spec Counter_spec = {
    "dolmakit._bpe.Counter", sizeof(Counter), 0, Py_TPFLAGS_DEFAULT, Counter_slots,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_bpe",
    "Compiled cl100k_base token counting (reference: bpe-openai's count).", -1, NULL,
};

PyMODINIT_FUNC
PyInit__bpe(void)
{
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    PyObject *type = PyType_FromSpec(&Counter_spec);
    if (type == NULL || PyModule_AddObject(m, "Counter", type) < 0) {
        Py_XDECREF(type);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
