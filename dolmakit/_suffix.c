/* Compiled suffix-array searches and word counting for the span index (dolmakit.trace).
 *
 * Every function here has a pure-Python reference in dolmakit/trace/suffix.py (searches) or
 * dolmakit/trace/build.py (word count) that defines it; tests/test_trace_native.py checks
 * that both give identical results.
 *
 * Buffers: `text` is a shard's bytes, `sa` its suffix array (native int32, one position per
 * text byte). Comparisons are those of Python bytes: lexicographic on unsigned bytes, and a
 * suffix shorter than the key that it begins is smaller.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Compare text[p:p+k] with key[0:k] as Python compares the two bytes objects. */
static int
compare(const uint8_t *text, Py_ssize_t n, int32_t p, const uint8_t *key, Py_ssize_t k)
{
    Py_ssize_t m = n - p < k ? n - p : k;
    int c = m > 0 ? memcmp(text + p, key, (size_t)m) : 0;
    if (c != 0)
        return c;
    return m < k ? -1 : 0;
}

/* The first rank whose suffix compares >= key (upper: > key) on len(key) bytes. */
static Py_ssize_t
bound(const uint8_t *text, const int32_t *sa, Py_ssize_t n, const uint8_t *key, Py_ssize_t k,
      int upper)
{
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        int c = compare(text, n, sa[mid], key, k);
        if (c < 0 || (upper && c == 0))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static Py_ssize_t
common_prefix(const uint8_t *text, Py_ssize_t n, int32_t p, const uint8_t *key, Py_ssize_t k)
{
    Py_ssize_t m = n - p < k ? n - p : k, i = 0;
    while (i < m && text[p + i] == key[i])
        i++;
    return i;
}

/* Take text, sa and key buffers; check that sa holds one int32 per text byte. */
static int
take(PyObject *args, Py_buffer *text, Py_buffer *sa, Py_buffer *key, int *flag)
{
    if (flag != NULL) {
        if (!PyArg_ParseTuple(args, "y*y*y*p", text, sa, key, flag))
            return -1;
    }
    else if (!PyArg_ParseTuple(args, "y*y*y*", text, sa, key))
        return -1;
    if (sa->len != 4 * text->len || text->len > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "the suffix array needs one int32 per text byte");
        PyBuffer_Release(text);
        PyBuffer_Release(sa);
        PyBuffer_Release(key);
        return -1;
    }
    return 0;
}

static PyObject *
sa_bound(PyObject *self, PyObject *args)
{
    Py_buffer text, sa, key;
    int upper = 0;
    if (take(args, &text, &sa, &key, &upper) < 0)
        return NULL;
    Py_ssize_t rank;
    Py_BEGIN_ALLOW_THREADS
    rank = bound(text.buf, sa.buf, text.len, key.buf, key.len, upper);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&text);
    PyBuffer_Release(&sa);
    PyBuffer_Release(&key);
    return PyLong_FromSsize_t(rank);
}

static PyObject *
sa_longest_match(PyObject *self, PyObject *args)
{
    Py_buffer text, sa, key;
    if (take(args, &text, &sa, &key, NULL) < 0)
        return NULL;
    const uint8_t *t = text.buf;
    const int32_t *s = sa.buf;
    Py_ssize_t n = text.len, best = 0;
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t rank = bound(t, s, n, key.buf, key.len, 0);
    for (Py_ssize_t r = rank - 1; r <= rank; r++) {
        if (r >= 0 && r < n) {
            Py_ssize_t common = common_prefix(t, n, s[r], key.buf, key.len);
            if (common > best)
                best = common;
        }
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&text);
    PyBuffer_Release(&sa);
    PyBuffer_Release(&key);
    return PyLong_FromSsize_t(best);
}

static PyObject *
count_words(PyObject *self, PyObject *args)
{
    Py_buffer data;
    int separator;
    if (!PyArg_ParseTuple(args, "y*i", &data, &separator))
        return NULL;
    uint8_t space[256] = {0};
    space[9] = space[10] = space[11] = space[12] = space[13] = space[32] = 1;
    space[(uint8_t)separator] = 1;
    const uint8_t *b = data.buf;
    Py_ssize_t words = 0;
    uint8_t previous = 1;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < data.len; i++) {
        uint8_t now = space[b[i]];
        words += previous & !now;
        previous = now;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&data);
    return PyLong_FromSsize_t(words);
}

static PyMethodDef methods[] = {
    {"bound", sa_bound, METH_VARARGS,
     "Return the first rank whose suffix is >= key (> key if upper), on len(key) bytes."},
    {"longest_match", sa_longest_match, METH_VARARGS,
     "Return the length of the longest prefix of key that occurs in the text."},
    {"count_words", count_words, METH_VARARGS,
     "Return the number of runs of non-whitespace bytes (the separator is whitespace)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_suffix",
    "Compiled suffix-array searches for dolmakit's span index (pure-Python reference: "
    "dolmakit.trace.suffix).",
    -1, methods,
};

PyMODINIT_FUNC
PyInit__suffix(void)
{
    return PyModule_Create(&module);
}
