/* Compiled text statistics for the rule taggers (dolmakit.taggers.rules).
 *
 * Every function here has a pure-Python reference in dolmakit/taggers/rules/ that defines
 * it; tests/test_textstats.py checks that both give identical results. Unicode semantics
 * follow Python's str methods: whitespace is Py_UNICODE_ISSPACE (str.split, str.strip, re's
 * \s), letters are Py_UNICODE_ISALPHA (str.isalpha), word characters (re's \w) are
 * Py_UNICODE_ISALNUM or '_'. Texts are copied to UCS-4 once per call.
 *
 * `pii_candidates` serves the pii tagger; its reference is dolmakit.taggers.pii_scan
 * (tests/test_pii_scan.py).
 *
 * `bad_span_key` serves the attribute reader; its reference is
 * dolmakit.io.attributes.first_bad_key (tests/test_error_paths.py).
 *
 * `paragraph_spans` and `sentence_spans` serve lid_fasttext and toxicity; their reference is
 * dolmakit.taggers.segments (tests/test_segments.py).
 *
 * `toxicity_scan` and `toxicity_spans` serve the toxicity tagger (references in
 * dolmakit.taggers.toxicity_scan), `doc_languages` lid_fasttext (reference:
 * dolmakit.taggers.lid.doc_from_paragraphs_reference), `new_span` both (reference: Span);
 * tests/test_tagger_kernels.py.
 *
 * `minhash_min` serves MinHash dedup; its reference is
 * dolmakit.dedup.minhash.signatures_numpy (tests/test_dedup.py); so does `word_hashes`,
 * whose reference is xxhash's xxh32 of each `bytes.split()` word (tests/test_dedup.py).
 * `collapse_spaces` serves exact dedup (reference: `" ".join(text.split())`).
 *
 * Case-insensitive matching of the ASCII phrases (stop words, "javascript", policy phrases,
 * "lorem ipsum") stands for `phrase in text.lower()`: the only characters outside ASCII whose
 * str.lower() contains an ASCII character are U+212A KELVIN SIGN (-> "k") and U+0130 (->
 * "i" + U+0307). The Kelvin sign folds to 'k'; U+0130 never matches, which is exact because
 * no phrase ends in 'i' (the U+0307 that follows the 'i' matches no phrase character).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

typedef Py_UCS4 ch_t;

/* ---------------------------------------------------------------- helpers */

static ch_t *
ucs4_of(PyObject *text, Py_ssize_t *size)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "expected a str");
        return NULL;
    }
    *size = PyUnicode_GET_LENGTH(text);
    ch_t *buf = PyMem_Malloc(sizeof(ch_t) * (size_t)(*size + 1));
    if (buf == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    if (PyUnicode_AsUCS4(text, buf, *size + 1, 1) == NULL) {
        PyMem_Free(buf);
        return NULL;
    }
    return buf;
}

/* Bit tables of the Basic Multilingual Plane, filled at import from Python's own predicates
 * (so they agree with str methods by construction); characters above it ask Python. */
static unsigned char SPACE_BITS[8192], ALPHA_BITS[8192], WORD_BITS[8192];

#define IN_BITS(bits, c) ((bits)[(c) >> 3] & (1u << ((c) & 7)))

static void
fill_tables(void)
{
    for (Py_UCS4 c = 0; c < 65536; c++) {
        if (Py_UNICODE_ISSPACE(c))
            SPACE_BITS[c >> 3] |= (unsigned char)(1u << (c & 7));
        if (Py_UNICODE_ISALPHA(c))
            ALPHA_BITS[c >> 3] |= (unsigned char)(1u << (c & 7));
        if (Py_UNICODE_ISALNUM(c) || c == '_')
            WORD_BITS[c >> 3] |= (unsigned char)(1u << (c & 7));
    }
}

static inline int
is_space(ch_t c)
{
    return c < 65536 ? IN_BITS(SPACE_BITS, c) != 0 : Py_UNICODE_ISSPACE(c);
}

static inline int
is_alpha(ch_t c)
{
    return c < 65536 ? IN_BITS(ALPHA_BITS, c) != 0 : Py_UNICODE_ISALPHA(c);
}

static inline int
is_word(ch_t c)
{
    return c < 65536 ? IN_BITS(WORD_BITS, c) != 0 : Py_UNICODE_ISALNUM(c);
}

/* The character `c` lowercased when that gives one ASCII character, else 0x80 (no match). */
static inline unsigned char
fold(ch_t c)
{
    if (c < 128)
        return (unsigned char)((c >= 'A' && c <= 'Z') ? c + 32 : c);
    return c == 0x212A ? 'k' : 0x80;
}

/* Gopher's EDGE_PUNCTUATION: string.punctuation and “”‘’«»„… */
static inline int
is_edge(ch_t c)
{
    if (c < 128)
        return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
               (c >= 123 && c <= 126);
    return c == 0x201C || c == 0x201D || c == 0x2018 || c == 0x2019 || c == 0xAB ||
           c == 0xBB || c == 0x201E || c == 0x2026;
}

static inline int
is_bullet(ch_t c)
{
    switch (c) {
    case 0x2022: case 0x2023: case 0x25E6: case 0x2043: case 0x25AA: case 0x25CF:
    case 0x25CB: case 0x25A0: case 0x25A1: case '-': case '*': case 0x2013:
        return 1;
    default:
        return 0;
    }
}

#define HASH_SEED 0x9E3779B97F4A7C15ULL

static inline uint64_t
hash_step(uint64_t h, ch_t c)
{
    h ^= c;
    h *= 0x100000001B3ULL;
    return h ^ (h >> 29);
}

static inline uint64_t
hash_end(uint64_t h, Py_ssize_t n)
{
    return (h ^ (uint64_t)n) * 0xBF58476D1CE4E5B9ULL;
}

static uint64_t
hash_chars(const ch_t *s, Py_ssize_t n)
{
    uint64_t h = HASH_SEED;
    for (Py_ssize_t i = 0; i < n; i++)
        h = hash_step(h, s[i]);
    return hash_end(h, n);
}

static inline uint64_t
mix(uint64_t h, uint64_t x)
{
    h ^= x + 0x9E3779B97F4A7C15ULL + (h << 6) + (h >> 2);
    h *= 0x94D049BB133111EBULL;
    return h ^ (h >> 31);
}

static Py_ssize_t
table_size(Py_ssize_t items)
{
    Py_ssize_t size = 16;
    while (size < 2 * items)
        size <<= 1;
    return size;
}

/* Duplicates among character ranges of one text: (copies beyond the first, their chars). */
typedef struct {
    Py_ssize_t start, len;
} range_t;

static int
range_duplicates(const ch_t *s, const range_t *items, Py_ssize_t count, Py_ssize_t *dups,
                 Py_ssize_t *dup_chars)
{
    *dups = *dup_chars = 0;
    if (count < 2)
        return 0;
    Py_ssize_t size = table_size(count), mask = size - 1;
    Py_ssize_t *slots = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)size);
    uint64_t *hashes = PyMem_Malloc(sizeof(uint64_t) * (size_t)count);
    if (slots == NULL || hashes == NULL) {
        PyMem_Free(slots);
        PyMem_Free(hashes);
        PyErr_NoMemory();
        return -1;
    }
    memset(slots, 0xff, sizeof(Py_ssize_t) * (size_t)size); /* -1: empty */
    for (Py_ssize_t i = 0; i < count; i++) {
        const range_t *r = &items[i];
        uint64_t h = hash_chars(s + r->start, r->len);
        hashes[i] = h;
        Py_ssize_t j = (Py_ssize_t)(h & (uint64_t)mask);
        for (;;) {
            Py_ssize_t k = slots[j];
            if (k < 0) {
                slots[j] = i;
                break;
            }
            if (hashes[k] == h && items[k].len == r->len &&
                memcmp(s + items[k].start, s + r->start, sizeof(ch_t) * (size_t)r->len) == 0) {
                *dups += 1;
                *dup_chars += r->len;
                break;
            }
            j = (j + 1) & mask;
        }
    }
    PyMem_Free(slots);
    PyMem_Free(hashes);
    return 0;
}

/* ---------------------------------------------------------------- n-grams */

/* Top 2-4-gram and duplicate 5-10-gram characters over word ids (ngrams.py defines them). */
static int
ngram_chars(const Py_ssize_t *ids, const Py_ssize_t *lens, Py_ssize_t m, Py_ssize_t top[3],
            Py_ssize_t dup[6])
{
    for (int i = 0; i < 3; i++)
        top[i] = 0;
    for (int i = 0; i < 6; i++)
        dup[i] = 0;
    if (m < 2)
        return 0;
    Py_ssize_t size = table_size(m), mask = size - 1;
    Py_ssize_t *ends = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)(m + 1));
    Py_ssize_t *pos = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)m);
    Py_ssize_t *slot_of = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)m);
    uint64_t *gh = PyMem_Malloc(sizeof(uint64_t) * (size_t)m);
    Py_ssize_t *first = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)size);
    Py_ssize_t *count = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)size);
    unsigned char *covered = PyMem_Malloc((size_t)m);
    if (!ends || !pos || !slot_of || !gh || !first || !count || !covered) {
        PyErr_NoMemory();
        goto fail;
    }
    ends[0] = 0;
    for (Py_ssize_t i = 0; i < m; i++) {
        ends[i + 1] = ends[i] + lens[i];
        gh[i] = mix(0, (uint64_t)ids[i]);
    }
    Py_ssize_t npos = m - 1;
    for (Py_ssize_t i = 0; i < npos; i++)
        pos[i] = i;
    for (Py_ssize_t n = 2; n <= 10; n++) {
        memset(first, 0xff, sizeof(Py_ssize_t) * (size_t)size);
        Py_ssize_t unique = 0;
        for (Py_ssize_t k = 0; k < npos; k++) {
            Py_ssize_t p = pos[k];
            uint64_t h = gh[p] = mix(gh[p], (uint64_t)ids[p + n - 1]);
            Py_ssize_t j = (Py_ssize_t)(h & (uint64_t)mask);
            for (;;) {
                Py_ssize_t q = first[j];
                if (q < 0) {
                    first[j] = p;
                    count[j] = 1;
                    unique++;
                    break;
                }
                if (gh[q] == h && memcmp(ids + q, ids + p, sizeof(Py_ssize_t) * (size_t)n) == 0) {
                    count[j]++;
                    break;
                }
                j = (j + 1) & mask;
            }
            slot_of[k] = j;
        }
        if (unique == npos)
            break; /* no n-gram repeats, so no longer one does */
        if (n <= 4) {
            Py_ssize_t best = 0, chars = 0;
            for (Py_ssize_t k = 0; k < npos; k++) {
                Py_ssize_t c = count[slot_of[k]];
                Py_ssize_t w = ends[pos[k] + n] - ends[pos[k]];
                if (c > best) {
                    best = c;
                    chars = w;
                }
                else if (c == best && w > chars) {
                    chars = w;
                }
            }
            top[n - 2] = best * chars;
        }
        else {
            memset(covered, 0, (size_t)m);
            for (Py_ssize_t k = 0; k < npos; k++) {
                if (first[slot_of[k]] != pos[k])
                    memset(covered + pos[k], 1, (size_t)n);
            }
            Py_ssize_t sum = 0;
            for (Py_ssize_t i = 0; i < m; i++)
                if (covered[i])
                    sum += lens[i];
            dup[n - 5] = sum;
        }
        Py_ssize_t kept = 0;
        for (Py_ssize_t k = 0; k < npos; k++) {
            if (count[slot_of[k]] > 1 && pos[k] + n < m)
                pos[kept++] = pos[k];
        }
        npos = kept;
        if (npos == 0)
            break;
    }
    PyMem_Free(ends);
    PyMem_Free(pos);
    PyMem_Free(slot_of);
    PyMem_Free(gh);
    PyMem_Free(first);
    PyMem_Free(count);
    PyMem_Free(covered);
    return 0;
fail:
    PyMem_Free(ends);
    PyMem_Free(pos);
    PyMem_Free(slot_of);
    PyMem_Free(gh);
    PyMem_Free(first);
    PyMem_Free(count);
    PyMem_Free(covered);
    return -1;
}

/* ---------------------------------------------------------------- summarize */

static const char *STOP_WORDS[] = {"the", "be", "to", "of", "and", "that", "have", "with"};
#define N_STOP 8
static const Py_ssize_t STOP_LENGTHS[N_STOP] = {3, 2, 2, 2, 3, 4, 4, 4};

/* Index bit of the stop word that the folded characters s[0:n] spell, or 0. */
static unsigned
stop_word_bit(const ch_t *s, Py_ssize_t n)
{
    if (n < 2 || n > 4)
        return 0;
    char low[4];
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char f = fold(s[i]);
        if (f >= 0x80)
            return 0;
        low[i] = (char)f;
    }
    for (unsigned i = 0; i < N_STOP; i++)
        if (STOP_LENGTHS[i] == n && memcmp(low, STOP_WORDS[i], (size_t)n) == 0)
            return 1u << i;
    return 0;
}

enum {
    S_WORDS, S_WORD_CHARS, S_ALPHA_WORDS, S_HASHES, S_ELLIPSES, S_LINES, S_BULLET_LINES,
    S_ELLIPSIS_LINES, S_DUP_LINES, S_DUP_LINE_CHARS, S_PARAGRAPHS, S_DUP_PARAGRAPHS,
    S_DUP_PARAGRAPH_CHARS, S_PUNCT_LINES, S_SHORT_LINES, S_NEWLINES, S_STOP_WORDS, S_TOP2,
    S_DUP5 = S_TOP2 + 3, S_FIELDS = S_DUP5 + 6
};

#define SHORT_LINE_CHARS 30

static int
summarize_chars(const ch_t *s, Py_ssize_t n, Py_ssize_t *out)
{
    int status = -1;
    memset(out, 0, sizeof(Py_ssize_t) * S_FIELDS);
    /* words and paragraphs: one pass over whitespace runs */
    Py_ssize_t cap = n / 2 + 2;
    Py_ssize_t *ids = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)cap);
    Py_ssize_t *lens = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)cap);
    Py_ssize_t *starts = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)cap);
    uint64_t *whash = PyMem_Malloc(sizeof(uint64_t) * (size_t)cap);
    range_t *paras = PyMem_Malloc(sizeof(range_t) * (size_t)cap);
    range_t *lines = PyMem_Malloc(sizeof(range_t) * (size_t)cap);
    Py_ssize_t *slots = NULL;
    if (!ids || !lens || !starts || !whash || !paras || !lines) {
        PyErr_NoMemory();
        goto done;
    }
    Py_ssize_t m = 0, np = 0, pstart = -1, pend = 0, alpha = 0, chars = 0;
    unsigned stop = 0;
    Py_ssize_t i = 0;
    while (i < n) {
        if (is_space(s[i])) {
            Py_ssize_t newlines = 0;
            while (i < n && is_space(s[i])) {
                newlines += s[i] == '\n';
                i++;
            }
            if (newlines >= 2 && pstart >= 0) {
                paras[np].start = pstart;
                paras[np++].len = pend - pstart;
                pstart = -1;
            }
            continue;
        }
        Py_ssize_t a = i;
        int has_alpha = 0;
        uint64_t h = HASH_SEED;
        while (i < n && !is_space(s[i])) {
            has_alpha = has_alpha || is_alpha(s[i]);
            h = hash_step(h, s[i]);
            i++;
        }
        whash[m] = hash_end(h, i - a);
        starts[m] = a;
        lens[m] = i - a;
        chars += i - a;
        alpha += has_alpha;
        m++;
        if (pstart < 0)
            pstart = a;
        pend = i;
        Py_ssize_t x = a, y = i;
        while (x < y && is_edge(s[x]))
            x++;
        while (y > x && is_edge(s[y - 1]))
            y--;
        stop |= stop_word_bit(s + x, y - x);
    }
    if (pstart >= 0) {
        paras[np].start = pstart;
        paras[np++].len = pend - pstart;
    }
    out[S_WORDS] = m;
    out[S_WORD_CHARS] = chars;
    out[S_ALPHA_WORDS] = alpha;
    out[S_PARAGRAPHS] = np;
    for (unsigned b = 0; b < N_STOP; b++)
        out[S_STOP_WORDS] += (stop >> b) & 1;
    if (range_duplicates(s, paras, np, &out[S_DUP_PARAGRAPHS], &out[S_DUP_PARAGRAPH_CHARS]) < 0)
        goto done;

    /* word ids: equal words get equal ids */
    Py_ssize_t size = table_size(m), mask = size - 1;
    slots = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)size);
    if (slots == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    memset(slots, 0xff, sizeof(Py_ssize_t) * (size_t)size);
    for (Py_ssize_t w = 0; w < m; w++) {
        uint64_t h = whash[w];
        Py_ssize_t j = (Py_ssize_t)(h & (uint64_t)mask);
        for (;;) {
            Py_ssize_t k = slots[j];
            if (k < 0) {
                slots[j] = w;
                ids[w] = w;
                break;
            }
            if (whash[k] == h && lens[k] == lens[w] &&
                memcmp(s + starts[k], s + starts[w], sizeof(ch_t) * (size_t)lens[w]) == 0) {
                ids[w] = k;
                break;
            }
            j = (j + 1) & mask;
        }
    }
    if (ngram_chars(ids, lens, m, &out[S_TOP2], &out[S_DUP5]) < 0)
        goto done;

    /* lines: text.split("\n"), stripped, blank ones left out */
    Py_ssize_t nl = 0, a = 0;
    while (a <= n) {
        Py_ssize_t b = a;
        while (b < n && s[b] != '\n')
            b++;
        Py_ssize_t x = a, y = b;
        while (x < y && is_space(s[x]))
            x++;
        while (y > x && is_space(s[y - 1]))
            y--;
        if (x < y) {
            lines[nl].start = x;
            lines[nl++].len = y - x;
            ch_t last = s[y - 1];
            out[S_BULLET_LINES] += is_bullet(s[x]);
            out[S_ELLIPSIS_LINES] += last == 0x2026 ||
                                     (y - x >= 3 && last == '.' && s[y - 2] == '.' &&
                                      s[y - 3] == '.');
            out[S_PUNCT_LINES] +=
                last == '.' || last == '\'' || last == '"' || last == '!' || last == '?';
            out[S_SHORT_LINES] += y - x <= SHORT_LINE_CHARS;
        }
        if (b < n)
            out[S_NEWLINES]++;
        a = b + 1;
    }
    out[S_LINES] = nl;
    if (range_duplicates(s, lines, nl, &out[S_DUP_LINES], &out[S_DUP_LINE_CHARS]) < 0)
        goto done;

    for (Py_ssize_t k = 0; k < n; k++) {
        if (s[k] == '#')
            out[S_HASHES]++;
        else if (s[k] == 0x2026)
            out[S_ELLIPSES]++;
        else if (s[k] == '.' && k + 2 < n && s[k + 1] == '.' && s[k + 2] == '.') {
            out[S_ELLIPSES]++;
            k += 2;
        }
    }
    status = 0;
done:
    PyMem_Free(ids);
    PyMem_Free(lens);
    PyMem_Free(starts);
    PyMem_Free(whash);
    PyMem_Free(paras);
    PyMem_Free(lines);
    PyMem_Free(slots);
    return status;
}

static PyObject *
summarize(PyObject *self, PyObject *text)
{
    Py_ssize_t n;
    ch_t *s = ucs4_of(text, &n);
    if (s == NULL)
        return NULL;
    Py_ssize_t out[S_FIELDS];
    int status = summarize_chars(s, n, out);
    PyMem_Free(s);
    if (status < 0)
        return NULL;
    PyObject *result = PyTuple_New(S_FIELDS);
    if (result == NULL)
        return NULL;
    for (int k = 0; k < S_FIELDS; k++) {
        PyObject *v = PyLong_FromSsize_t(out[k]);
        if (v == NULL) {
            Py_DECREF(result);
            return NULL;
        }
        PyTuple_SET_ITEM(result, k, v);
    }
    return result;
}

/* ---------------------------------------------------------------- C4 lines */

static const char *POLICY[] = {"terms of use", "privacy policy", "cookie policy",
                               "uses cookies", "use of cookies", "use cookies"};
#define N_POLICY 6

static int
folded_contains(const unsigned char *f, Py_ssize_t a, Py_ssize_t b, const char *phrase)
{
    size_t len = strlen(phrase);
    return b - a >= (Py_ssize_t)len && memmem(f + a, (size_t)(b - a), phrase, len) != NULL;
}

static inline int
is_closer(ch_t c)
{
    return c == '"' || c == '\'' || c == 0x201D || c == 0x2019 || c == ')' || c == ']';
}

/* Matches of [.!?]+["'”’)\]]*[^\S\n]+ in s[a:b] (a line without newlines). */
static Py_ssize_t
sentence_ends(const ch_t *s, Py_ssize_t a, Py_ssize_t b)
{
    Py_ssize_t found = 0, i = a;
    while (i < b) {
        ch_t c = s[i];
        if (c != '.' && c != '!' && c != '?') {
            i++;
            continue;
        }
        while (i < b && (s[i] == '.' || s[i] == '!' || s[i] == '?'))
            i++;
        while (i < b && is_closer(s[i]))
            i++;
        if (i < b && s[i] != '\n' && is_space(s[i])) {
            found++;
            while (i < b && s[i] != '\n' && is_space(s[i]))
                i++;
        }
    }
    return found;
}

static PyObject *
c4_lines(PyObject *self, PyObject *text)
{
    Py_ssize_t n;
    ch_t *s = ucs4_of(text, &n);
    if (s == NULL)
        return NULL;
    PyObject *result = NULL, *dropped = NULL, *kept_text = NULL;
    unsigned char *f = PyMem_Malloc((size_t)n + 1);
    range_t *kept = PyMem_Malloc(sizeof(range_t) * (size_t)(n / 2 + 2));
    if (f == NULL || kept == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < n; k++)
        f[k] = fold(s[k]);
    int any_js = folded_contains(f, 0, n, "javascript");
    int lorem = folded_contains(f, 0, n, "lorem ipsum");
    int any_policy[N_POLICY];
    int policy_possible = 0;
    for (int p = 0; p < N_POLICY; p++)
        policy_possible |= any_policy[p] = folded_contains(f, 0, n, POLICY[p]);
    dropped = PyList_New(0);
    if (dropped == NULL)
        goto done;
    Py_ssize_t lines = 0, no_punct = 0, short_lines = 0, js = 0, policy = 0, nkept = 0;
    Py_ssize_t kept_chars = 0, sentences = 0;
    Py_ssize_t a = 0;
    while (a <= n) {
        Py_ssize_t b = a;
        while (b < n && s[b] != '\n')
            b++;
        Py_ssize_t x = a, y = b;
        while (x < y && is_space(s[x]))
            x++;
        while (y > x && is_space(s[y - 1]))
            y--;
        a = b + 1;
        if (x == y)
            continue;
        lines++;
        ch_t last = s[y - 1];
        int ellipsis = y - x >= 3 && last == '.' && s[y - 2] == '.' && s[y - 3] == '.';
        int terminal = last == '.' || last == '?' || last == '!' || last == '"';
        int drop = !terminal || ellipsis;
        no_punct += drop;
        Py_ssize_t words = 0;
        for (Py_ssize_t k = x; k < y && words < 3;) {
            while (k < y && is_space(s[k]))
                k++;
            if (k < y)
                words++;
            while (k < y && !is_space(s[k]))
                k++;
        }
        if (words < 3) {
            short_lines++;
            drop = 1;
        }
        if (any_js && folded_contains(f, x, y, "javascript")) {
            js++;
            drop = 1;
        }
        if (policy_possible) {
            for (int p = 0; p < N_POLICY; p++) {
                if (any_policy[p] && folded_contains(f, x, y, POLICY[p])) {
                    policy++;
                    drop = 1;
                    break;
                }
            }
        }
        if (drop) {
            PyObject *span = Py_BuildValue("(nn)", x, y);
            if (span == NULL || PyList_Append(dropped, span) < 0) {
                Py_XDECREF(span);
                goto done;
            }
            Py_DECREF(span);
        }
        else {
            kept[nkept].start = x;
            kept[nkept++].len = y - x;
            kept_chars += y - x;
            sentences += 1 + sentence_ends(s, x, y);
        }
    }
    if (nkept) {
        Py_ssize_t size = kept_chars + nkept - 1, at = 0;
        ch_t *buf = PyMem_Malloc(sizeof(ch_t) * (size_t)size);
        if (buf == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        for (Py_ssize_t k = 0; k < nkept; k++) {
            if (k)
                buf[at++] = '\n';
            memcpy(buf + at, s + kept[k].start, sizeof(ch_t) * (size_t)kept[k].len);
            at += kept[k].len;
        }
        kept_text = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, size);
        PyMem_Free(buf);
    }
    else {
        kept_text = PyUnicode_FromStringAndSize("", 0);
    }
    if (kept_text == NULL)
        goto done;
    result = Py_BuildValue("(nnnnnOOnN)", lines, no_punct, short_lines, js, policy, dropped,
                           kept_text, sentences, PyBool_FromLong(lorem));
done:
    Py_XDECREF(dropped);
    Py_XDECREF(kept_text);
    PyMem_Free(f);
    PyMem_Free(kept);
    PyMem_Free(s);
    return result;
}

/* ---------------------------------------------------------------- word tokens */

static uint64_t
token_hash_of(const ch_t *s, Py_ssize_t n)
{
    return hash_chars(s, n);
}

static PyObject *
token_hash(PyObject *self, PyObject *text)
{
    Py_ssize_t n;
    ch_t *s = ucs4_of(text, &n);
    if (s == NULL)
        return NULL;
    uint64_t h = token_hash_of(s, n);
    PyMem_Free(s);
    return PyLong_FromUnsignedLongLong(h);
}

/* The distinct \w+ runs of `text` whose token_hash has its bit set in `bits`. */
static PyObject *
tokens_in(PyObject *self, PyObject *args)
{
    PyObject *text;
    Py_buffer bits;
    if (!PyArg_ParseTuple(args, "Uy*:tokens_in", &text, &bits))
        return NULL;
    PyObject *found = NULL;
    Py_ssize_t n;
    ch_t *s = NULL;
    uint64_t nbits = (uint64_t)bits.len * 8;
    if (nbits == 0 || (nbits & (nbits - 1)) != 0) {
        PyErr_SetString(PyExc_ValueError, "tokens_in: bits must be a power-of-two size");
        goto done;
    }
    s = ucs4_of(text, &n);
    if (s == NULL)
        goto done;
    found = PySet_New(NULL);
    if (found == NULL)
        goto done;
    const unsigned char *table = bits.buf;
    Py_ssize_t i = 0;
    while (i < n) {
        if (!is_word(s[i])) {
            i++;
            continue;
        }
        Py_ssize_t a = i;
        while (i < n && is_word(s[i]))
            i++;
        uint64_t h = token_hash_of(s + a, i - a) & (nbits - 1);
        if (table[h >> 3] & (1u << (h & 7))) {
            PyObject *token = PyUnicode_Substring(text, a, i);
            if (token == NULL || PySet_Add(found, token) < 0) {
                Py_XDECREF(token);
                Py_CLEAR(found);
                goto done;
            }
            Py_DECREF(token);
        }
    }
done:
    PyMem_Free(s);
    PyBuffer_Release(&bits);
    return found;
}

/* ---------------------------------------------------------------- writing values */

static PyObject *ROUND_NAME, *DIGITS;

/* attrs[keys[i]] = [[0, size, values[i]]] for each value not None; floats rounded to 5
 * digits unless 0.0 or 1.0. Returns -1, or the index of the first value that is neither an
 * int nor a finite float (nothing is written for it or after it). */
static PyObject *
put_values(PyObject *self, PyObject *args)
{
    PyObject *attrs, *keys, *values, *size;
    if (!PyArg_ParseTuple(args, "O!O!O!O!:put_values", &PyDict_Type, &attrs, &PyTuple_Type, &keys,
                          &PyLong_Type, &size, &PyTuple_Type, &values))
        return NULL;
    Py_ssize_t count = PyTuple_GET_SIZE(keys);
    if (PyTuple_GET_SIZE(values) != count)
        return PyLong_FromSsize_t(PyTuple_GET_SIZE(values) < count ? PyTuple_GET_SIZE(values)
                                                                   : count);
    PyObject *zero = PyLong_FromLong(0);
    if (zero == NULL)
        return NULL;
    Py_ssize_t bad = -1;
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *v = PyTuple_GET_ITEM(values, i);
        PyObject *score;
        if (v == Py_None)
            continue;
        if (PyLong_CheckExact(v)) {
            score = Py_NewRef(v);
        }
        else if (PyFloat_CheckExact(v)) {
            double d = PyFloat_AS_DOUBLE(v);
            if (!isfinite(d)) {
                bad = i;
                break;
            }
            if (d == 0.0 || d == 1.0)
                score = Py_NewRef(v);
            else
                score = PyObject_CallMethodOneArg(v, ROUND_NAME, DIGITS);
            if (score == NULL)
                goto error;
        }
        else {
            bad = i;
            break;
        }
        PyObject *span = PyList_New(3);
        if (span == NULL) {
            Py_DECREF(score);
            goto error;
        }
        PyList_SET_ITEM(span, 0, Py_NewRef(zero));
        PyList_SET_ITEM(span, 1, Py_NewRef(size));
        PyList_SET_ITEM(span, 2, score);
        PyObject *spans = PyList_New(1);
        if (spans == NULL) {
            Py_DECREF(span);
            goto error;
        }
        PyList_SET_ITEM(spans, 0, span);
        int status = PyDict_SetItem(attrs, PyTuple_GET_ITEM(keys, i), spans);
        Py_DECREF(spans);
        if (status < 0)
            goto error;
    }
    Py_DECREF(zero);
    return PyLong_FromSsize_t(bad);
error:
    Py_DECREF(zero);
    return NULL;
}

/* ---------------------------------------------------------------- checked attribute rows
 *
 * `checked_rows` serves the tag stage's output path; its pure-Python reference is
 * dolmakit.taggers.attribute_rows.checked_rows, which defines it (tests/test_attribute_rows.py).
 * It builds the attribute dict of every document of a batch from the taggers' results, or
 * None for a document with anything unusual (the stage then checks that one in Python, which
 * raises the proper TaggerError or converts what it accepts). It reads only exact lists,
 * tuples, dicts, ints, floats and strs (and the given span type, a tuple subclass), so no
 * user code runs. */

/* Return round(d, 5) as a new float, equal to Python's float.__round__(v, 5) (v holds d).
 *
 * Python rounds the exact value X = d * 10**5 to the nearest integer R (ties to even) and
 * returns the double nearest to R / 10**5. Here y = fl(d * 1e5) is within half an ulp of X,
 * at most 2**-12 when |y| < 2**42; r = nearbyint(y). When y is farther than 0.5 - 2**-9 from
 * r's neighbouring half-integers, X rounds to r as well, so R = r; r is exact, and IEEE
 * division gives the double nearest to r / 10**5, as Python's strtod does (the sign of zero
 * included). Anything else (large values, near-ties) asks float.__round__ itself. */
static PyObject *
rounded_score(PyObject *v, double d)
{
    if (d == 0.0 || d == 1.0)
        return Py_NewRef(v);
    if (fabs(d) < 4e7) { /* |y| < 4e12 < 2**42 */
        double y = d * 1e5;
        double r = nearbyint(y);
        if (fabs(y - r) < 0.5 - 0x1p-9)
            return PyFloat_FromDouble(r / 1e5);
    }
    return PyObject_CallMethodOneArg(v, ROUND_NAME, DIGITS);
}

/* Return a new checked score (int as is, finite float rounded), NULL with no error to give
 * up, NULL with an error on failure. */
static PyObject *
checked_score(PyObject *score)
{
    if (PyLong_CheckExact(score))
        return Py_NewRef(score);
    if (PyFloat_CheckExact(score)) {
        double d = PyFloat_AS_DOUBLE(score);
        if (isfinite(d))
            return rounded_score(score, d);
    }
    return NULL;
}

/* Return a new [start, end, score] list; takes the reference to score (NULL on failure). */
static PyObject *
span_list(PyObject *start, PyObject *end, PyObject *score)
{
    PyObject *out = PyList_New(3);
    if (out == NULL) {
        Py_DECREF(score);
        return NULL;
    }
    PyList_SET_ITEM(out, 0, Py_NewRef(start));
    PyList_SET_ITEM(out, 1, Py_NewRef(end));
    PyList_SET_ITEM(out, 2, score);
    return out;
}

/* Return a new [start, end, score] list for a span within [0, size], NULL with no error to
 * give up, NULL with an error on failure. */
static PyObject *
checked_span(PyObject *span, Py_ssize_t size, PyTypeObject *span_type)
{
    PyObject **items;
    if (PyList_CheckExact(span) && PyList_GET_SIZE(span) == 3)
        items = ((PyListObject *)span)->ob_item;
    else if ((PyTuple_CheckExact(span) || (Py_TYPE(span) == span_type && PyTuple_Check(span))) &&
             PyTuple_GET_SIZE(span) == 3)
        items = ((PyTupleObject *)span)->ob_item;
    else
        return NULL;
    PyObject *start = items[0], *end = items[1];
    if (!PyLong_CheckExact(start) || !PyLong_CheckExact(end))
        return NULL;
    int overflow;
    long long s = PyLong_AsLongLongAndOverflow(start, &overflow);
    if (overflow)
        return NULL;
    long long e = PyLong_AsLongLongAndOverflow(end, &overflow);
    if (overflow)
        return NULL;
    if (!(0 <= s && s <= e && e <= size))
        return NULL;
    PyObject *score = checked_score(items[2]);
    return score == NULL ? NULL : span_list(start, end, score);
}

/* Put one tagger's result for a document into attrs: 1 done, 0 give up, -1 error. zero is
 * the int 0. */
static int
put_checked(PyObject *attrs, PyObject *found, PyObject *keys, PyObject *value_keys,
            PyObject *zero, PyObject *size_obj, Py_ssize_t size, PyTypeObject *span_type)
{
    PyObject *values = NULL;
    if (value_keys != Py_None) {
        if (!PyTuple_CheckExact(found) || PyTuple_GET_SIZE(found) != 2)
            return 0;
        values = PyTuple_GET_ITEM(found, 1);
        found = PyTuple_GET_ITEM(found, 0);
        if (!PyTuple_CheckExact(values) ||
            PyTuple_GET_SIZE(values) != PyTuple_GET_SIZE(value_keys))
            return 0;
    }
    if (!PyDict_CheckExact(found))
        return 0;
    Py_ssize_t pos = 0;
    PyObject *kind, *spans;
    while (PyDict_Next(found, &pos, &kind, &spans)) {
        PyObject **items;
        Py_ssize_t n;
        if (PyList_CheckExact(spans)) {
            items = ((PyListObject *)spans)->ob_item;
            n = PyList_GET_SIZE(spans);
        }
        else if (PyTuple_CheckExact(spans)) {
            items = ((PyTupleObject *)spans)->ob_item;
            n = PyTuple_GET_SIZE(spans);
        }
        else
            return 0;
        if (n == 0)
            continue;
        if (!PyUnicode_CheckExact(kind))
            return 0;
        PyObject *key = PyDict_GetItemWithError(keys, kind);
        if (key == NULL)
            return PyErr_Occurred() ? -1 : 0;
        PyObject *out = PyList_New(n);
        if (out == NULL)
            return -1;
        for (Py_ssize_t j = 0; j < n; j++) {
            PyObject *span = checked_span(items[j], size, span_type);
            if (span == NULL) {
                Py_DECREF(out);
                return PyErr_Occurred() ? -1 : 0;
            }
            PyList_SET_ITEM(out, j, span);
        }
        int status = PyDict_SetItem(attrs, key, out);
        Py_DECREF(out);
        if (status < 0)
            return -1;
    }
    if (values == NULL)
        return 1;
    for (Py_ssize_t j = 0; j < PyTuple_GET_SIZE(values); j++) {
        PyObject *value = PyTuple_GET_ITEM(values, j);
        if (value == Py_None)
            continue;
        PyObject *score = checked_score(value);
        if (score == NULL)
            return PyErr_Occurred() ? -1 : 0;
        PyObject *span = span_list(zero, size_obj, score);
        if (span == NULL)
            return -1;
        PyObject *one = PyList_New(1);
        if (one == NULL) {
            Py_DECREF(span);
            return -1;
        }
        PyList_SET_ITEM(one, 0, span);
        int status = PyDict_SetItem(attrs, PyTuple_GET_ITEM(value_keys, j), one);
        Py_DECREF(one);
        if (status < 0)
            return -1;
    }
    return 1;
}

static PyObject *
checked_rows(PyObject *self, PyObject *args)
{
    PyObject *outs, *keys, *value_keys, *sizes;
    PyTypeObject *span_type;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!:checked_rows", &PyList_Type, &outs, &PyList_Type,
                          &keys, &PyList_Type, &value_keys, &PyList_Type, &sizes, &PyType_Type,
                          &span_type))
        return NULL;
    Py_ssize_t taggers = PyList_GET_SIZE(outs), docs = PyList_GET_SIZE(sizes);
    if (PyList_GET_SIZE(keys) != taggers || PyList_GET_SIZE(value_keys) != taggers) {
        PyErr_SetString(PyExc_ValueError, "checked_rows: one key dict and value keys per tagger");
        return NULL;
    }
    for (Py_ssize_t t = 0; t < taggers; t++) {
        PyObject *out = PyList_GET_ITEM(outs, t), *vk = PyList_GET_ITEM(value_keys, t);
        if (!PyList_CheckExact(out) || PyList_GET_SIZE(out) != docs ||
            !PyDict_CheckExact(PyList_GET_ITEM(keys, t)) || !(vk == Py_None || PyTuple_CheckExact(vk))) {
            PyErr_SetString(PyExc_TypeError,
                            "checked_rows: a list of results per document, a key dict and a "
                            "tuple of value keys or None per tagger");
            return NULL;
        }
    }
    PyObject *zero = PyLong_FromLong(0);
    if (zero == NULL)
        return NULL;
    PyObject *rows = PyList_New(docs);
    if (rows == NULL) {
        Py_DECREF(zero);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < docs; i++) {
        PyObject *size_obj = PyList_GET_ITEM(sizes, i);
        Py_ssize_t size = PyLong_CheckExact(size_obj) ? PyLong_AsSsize_t(size_obj) : -1;
        if (size < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "checked_rows: sizes are ints >= 0");
            goto error;
        }
        PyObject *attrs = PyDict_New();
        if (attrs == NULL)
            goto error;
        int status = 1;
        for (Py_ssize_t t = 0; t < taggers && status == 1; t++)
            status = put_checked(attrs, PyList_GET_ITEM(PyList_GET_ITEM(outs, t), i),
                                 PyList_GET_ITEM(keys, t), PyList_GET_ITEM(value_keys, t), zero,
                                 size_obj, size, span_type);
        if (status < 0) {
            Py_DECREF(attrs);
            goto error;
        }
        if (status == 0) {
            Py_DECREF(attrs);
            attrs = Py_NewRef(Py_None);
        }
        PyList_SET_ITEM(rows, i, attrs);
    }
    Py_DECREF(zero);
    return rows;
error:
    Py_DECREF(zero);
    Py_DECREF(rows);
    return NULL;
}

/* ---------------------------------------------------------------- end of checked attribute rows */

/* ---------------------------------------------------------------- module */

/* ---------------------------------------------------------------- pii candidates */

/* Where the pii tagger's patterns can match; pure-Python reference and exact definitions:
 * dolmakit.taggers.pii_scan.reference_candidates. Digits are re's \d (Py_UNICODE_ISDECIMAL).
 * Reads the str in its own storage kind (no copy). */

static inline int
is_decimal(ch_t c)
{
    return c < 128 ? (c >= '0' && c <= '9') : Py_UNICODE_ISDECIMAL(c) != 0;
}

static inline int
is_hex(ch_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Digits (up to `cap`) of the run \d(?:[ -]?\d)* that starts at the digit at `p`. */
static Py_ssize_t
chunk_digits(int kind, const void *data, Py_ssize_t n, Py_ssize_t p, Py_ssize_t cap)
{
    Py_ssize_t digits = 0;
    while (p < n && digits < cap) {
        ch_t c = PyUnicode_READ(kind, data, p);
        if (is_decimal(c)) {
            digits++;
            p++;
        } else if ((c == ' ' || c == '-') && p + 1 < n &&
                   is_decimal(PyUnicode_READ(kind, data, p + 1))) {
            p++;
        } else {
            break;
        }
    }
    return digits;
}

/* 1 if \d{1,3}(?:\.\d{1,3}){3} matches at `p` (a dotted quad may start there). */
static int
dotted_quad_at(int kind, const void *data, Py_ssize_t n, Py_ssize_t p)
{
    for (int group = 0; group < 4; group++) {
        Py_ssize_t run = 0;
        while (p < n && run < 4 && is_decimal(PyUnicode_READ(kind, data, p))) {
            run++;
            p++;
        }
        if (run == 0)
            return 0;
        if (group == 3)
            return 1;
        if (run > 3 || p >= n || PyUnicode_READ(kind, data, p) != '.')
            return 0;
        p++;
    }
    return 0;
}

/* Length of the run of ASCII hex digits at `p`, counted up to 5. */
static Py_ssize_t
hex_run(int kind, const void *data, Py_ssize_t n, Py_ssize_t p)
{
    Py_ssize_t run = 0;
    while (p + run < n && run < 5 && is_hex(PyUnicode_READ(kind, data, p + run)))
        run++;
    return run;
}

/* 1 if [0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}: matches at `p`. */
static int
colon_pair_at(int kind, const void *data, Py_ssize_t n, Py_ssize_t p)
{
    for (int colon = 0; colon < 2; colon++) {
        Py_ssize_t run = hex_run(kind, data, n, p);
        p += run;
        if (run > 4 || p >= n || PyUnicode_READ(kind, data, p) != ':')
            return 0;
        p++;
    }
    return 1;
}

static int
append_index(PyObject *list, Py_ssize_t i)
{
    PyObject *v = PyLong_FromSsize_t(i);
    if (v == NULL)
        return -1;
    int rc = PyList_Append(list, v);
    Py_DECREF(v);
    return rc;
}

static PyObject *
pii_candidates(PyObject *self, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "expected a str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    PyObject *iban = PyList_New(0), *card = PyList_New(0), *ssn = PyList_New(0);
    PyObject *ipv4 = PyList_New(0), *ipv6 = PyList_New(0);
    if (iban == NULL || card == NULL || ssn == NULL || ipv4 == NULL || ipv6 == NULL)
        goto fail;
    int phone = 0;
    /* Phone: ring[q & 31] = the greatest digit position <= q in q's run of [\d\s().-]. */
    Py_ssize_t ring[32], last_digit = -1, run_start = 0;
    ch_t prev = 0;
    for (Py_ssize_t p = 0; p < n; prev = PyUnicode_READ(kind, data, p), p++) {
        ch_t c = PyUnicode_READ(kind, data, p);
        int prev_word = p > 0 && is_word(prev);
        if ((c == ':' || is_hex(c)) && !prev_word && !(p > 0 && (prev == ':' || prev == '.')) &&
            colon_pair_at(kind, data, n, p) && append_index(ipv6, p) < 0)
            goto fail;
        if (is_decimal(c)) {
            if (!phone && p >= 6) {
                Py_ssize_t i = ring[(p - 6) & 31];
                if (i >= run_start && i >= p - 19)
                    phone = 1;
            }
            last_digit = p;
            if (!prev_word && !(p > 0 && (prev == '.' || prev == '-'))) {
                Py_ssize_t digits = chunk_digits(kind, data, n, p, 13);
                if (digits >= 9 && append_index(ssn, p) < 0)
                    goto fail;
                if (digits >= 13 && !(p > 0 && (prev == ',' || prev == '+')) &&
                    append_index(card, p) < 0)
                    goto fail;
            }
            if (!prev_word && !(p > 0 && prev == '.') && dotted_quad_at(kind, data, n, p) &&
                append_index(ipv4, p) < 0)
                goto fail;
        } else {
            if (!(is_space(c) || c == '(' || c == ')' || c == '.' || c == '-')) {
                run_start = p + 1;
                last_digit = -1;
            }
            if (c >= 'A' && c <= 'Z' && !prev_word && p + 3 < n) {
                ch_t c1 = PyUnicode_READ(kind, data, p + 1);
                if (c1 >= 'A' && c1 <= 'Z' && is_decimal(PyUnicode_READ(kind, data, p + 2)) &&
                    is_decimal(PyUnicode_READ(kind, data, p + 3)) && append_index(iban, p) < 0)
                    goto fail;
            }
        }
        ring[p & 31] = last_digit;
    }
    return Py_BuildValue("(NNNNNO)", iban, card, ssn, ipv4, ipv6, phone ? Py_True : Py_False);
fail:
    Py_XDECREF(iban);
    Py_XDECREF(card);
    Py_XDECREF(ssn);
    Py_XDECREF(ipv4);
    Py_XDECREF(ipv6);
    return NULL;
}

/* ---------------------------------------------------------------- attribute spans */

/* Classify an offset: 1 for an int in [0, 2**63) (stored in *out), 2 for an integral float
 * in that range, 0 for anything else (bools included). */
static int
offset_kind(PyObject *value, long long *out)
{
    if (PyLong_CheckExact(value)) {
        int overflow;
        *out = PyLong_AsLongLongAndOverflow(value, &overflow);
        return !overflow && *out >= 0;
    }
    if (PyFloat_CheckExact(value)) {
        double d = PyFloat_AS_DOUBLE(value);
        return isfinite(d) && d == floor(d) && d >= 0.0 && d < 9223372036854775808.0 ? 2 : 0;
    }
    return 0;
}

/* Return 1 when `spans` is a list of [start, end, score]: valid offsets with start <= end,
 * score an int or a finite float (not a bool). */
static int
valid_spans(PyObject *spans)
{
    if (!PyList_CheckExact(spans))
        return 0;
    Py_ssize_t n = PyList_GET_SIZE(spans);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *span = PyList_GET_ITEM(spans, i);
        if (!PyList_CheckExact(span) || PyList_GET_SIZE(span) != 3)
            return 0;
        PyObject *start = PyList_GET_ITEM(span, 0);
        PyObject *end = PyList_GET_ITEM(span, 1);
        PyObject *score = PyList_GET_ITEM(span, 2);
        long long s = 0, e = 0;
        int start_kind = offset_kind(start, &s), end_kind = offset_kind(end, &e);
        if (!start_kind || !end_kind)
            return 0;
        if (start_kind == 1 && end_kind == 1) {
            if (e < s)
                return 0;
        }
        else {
            /* A float offset: compare as Python does, exactly (doubles round past 2**53). */
            int before = PyObject_RichCompareBool(end, start, Py_LT);
            if (before != 0) {
                PyErr_Clear();
                return 0;
            }
        }
        if (PyFloat_CheckExact(score)) {
            if (!isfinite(PyFloat_AS_DOUBLE(score)))
                return 0;
        }
        else if (!PyLong_CheckExact(score))
            return 0;
    }
    return 1;
}

static PyObject *
bad_span_key(PyObject *self, PyObject *attrs)
{
    if (!PyDict_Check(attrs)) {
        PyErr_SetString(PyExc_TypeError, "expected a dict");
        return NULL;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *spans;
    while (PyDict_Next(attrs, &pos, &key, &spans)) {
        if (!valid_spans(spans))
            return Py_NewRef(key);
    }
    Py_RETURN_NONE;
}

/* ---------------------------------------------------------------- segments */

/* Paragraph and sentence spans (reference: dolmakit.taggers.segments). Both regexes cut only
 * inside runs of whitespace and every piece is stripped, so a piece ends exactly at a run
 * that holds a cut: for paragraphs (`\n\s*\n`) a run with two newlines; for sentences a run
 * with a newline (`\n+`) or one that follows ., ! or ? and any closing quotes or brackets
 * (`(?<=[.!?])["'”’)\]]*\s+`, the closers staying with their sentence). */

static int
append_span(PyObject *out, Py_ssize_t start, Py_ssize_t end)
{
    PyObject *span = Py_BuildValue("(nn)", start, end);
    if (span == NULL)
        return -1;
    int failed = PyList_Append(out, span);
    Py_DECREF(span);
    return failed;
}

static PyObject *
split_spans(PyObject *text, int sentences)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "expected a str");
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    PyObject *out = PyList_New(0);
    if (out == NULL)
        return NULL;
    Py_ssize_t start = -1, end = -1, i = 0;
    while (i < n) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (!is_space(c)) {
            if (start < 0)
                start = i;
            end = ++i;
            continue;
        }
        Py_ssize_t j = i, newlines = 0;
        while (j < n && is_space(c = PyUnicode_READ(kind, data, j))) {
            newlines += c == '\n';
            j++;
        }
        int cut;
        if (sentences) {
            cut = newlines > 0;
            if (!cut) {
                Py_ssize_t k = i;
                while (k > 0 && is_closer(PyUnicode_READ(kind, data, k - 1)))
                    k--;
                if (k > 0) {
                    Py_UCS4 p = PyUnicode_READ(kind, data, k - 1);
                    cut = p == '.' || p == '!' || p == '?';
                }
            }
        }
        else
            cut = newlines > 1;
        if (cut && start >= 0) {
            if (append_span(out, start, end) < 0) {
                Py_DECREF(out);
                return NULL;
            }
            start = -1;
        }
        i = j;
    }
    if (start >= 0 && append_span(out, start, end) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    return out;
}

static PyObject *
paragraph_spans(PyObject *self, PyObject *text)
{
    return split_spans(text, 0);
}

static PyObject *
sentence_spans(PyObject *self, PyObject *text)
{
    return split_spans(text, 1);
}

/* ------------------------------------------------------------- MinHash */

/* The min-reduction of MinHash signatures: for every document d with at least one hash,
 * out[d, p] = min over its hashes h of (a[p] * h + b[p]) mod 2**32, for every permutation p;
 * documents without hashes keep what `out` holds. `mixed` holds the (already mixed) uint32
 * hashes of all documents, document d's at [offsets[d], offsets[d + 1]). The reference is
 * dolmakit.dedup.minhash.signatures_numpy (tests/test_dedup.py). */
__attribute__((optimize("O3"))) static void
minhash_rows(const uint32_t *mixed, const int64_t *offsets, Py_ssize_t docs, const uint32_t *a,
             const uint32_t *b, Py_ssize_t perms, uint32_t *out)
{
    for (Py_ssize_t d = 0; d < docs; d++) {
        int64_t lo = offsets[d], hi = offsets[d + 1];
        if (lo >= hi)
            continue;
        uint32_t *row = out + d * perms;
        for (Py_ssize_t p = 0; p < perms; p++)
            row[p] = UINT32_MAX;
        for (int64_t i = lo; i < hi; i++) {
            uint32_t h = mixed[i];
            for (Py_ssize_t p = 0; p < perms; p++) {
                uint32_t v = a[p] * h + b[p];
                row[p] = v < row[p] ? v : row[p];
            }
        }
    }
}

static PyObject *
minhash_min(PyObject *self, PyObject *args)
{
    Py_buffer mixed, offsets, a, b, out;
    if (!PyArg_ParseTuple(args, "y*y*y*y*w*", &mixed, &offsets, &a, &b, &out))
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t values = mixed.len / 4, docs = offsets.len / 8 - 1, perms = a.len / 4;
    if (mixed.len % 4 || offsets.len % 8 || docs < 0 || a.len % 4 || b.len != a.len ||
        out.len != docs * perms * 4) {
        PyErr_SetString(PyExc_ValueError, "minhash_min: buffer sizes do not match");
        goto done;
    }
    const int64_t *off = offsets.buf;
    for (Py_ssize_t d = 0; d <= docs; d++) {
        if (off[d] < 0 || off[d] > values || (d && off[d] < off[d - 1])) {
            PyErr_SetString(PyExc_ValueError, "minhash_min: offsets out of order or range");
            goto done;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    minhash_rows(mixed.buf, off, docs, a.buf, b.buf, perms, out.buf);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&mixed);
    PyBuffer_Release(&offsets);
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    PyBuffer_Release(&out);
    return result;
}

/* XXH32 (seed 0) of each run of bytes between ASCII whitespace (the bytes bytes.split()
 * splits on: space, \t, \n, \v, \f, \r), in order, as little-endian uint32 values. The
 * reference is `[xxhash.xxh32_intdigest(w) for w in data.split()]` (tests/test_dedup.py). */
#define XXH_P1 0x9E3779B1U
#define XXH_P2 0x85EBCA77U
#define XXH_P3 0xC2B2AE3DU
#define XXH_P4 0x27D4EB2FU
#define XXH_P5 0x165667B1U

static inline uint32_t
rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

static inline uint32_t
read32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint32_t
xxh32(const unsigned char *p, Py_ssize_t len)
{
    const unsigned char *end = p + len;
    uint32_t h;
    if (len >= 16) {
        uint32_t v1 = XXH_P1 + XXH_P2, v2 = XXH_P2, v3 = 0, v4 = (uint32_t)0 - XXH_P1;
        const unsigned char *limit = end - 16;
        do {
            v1 = rotl32(v1 + read32(p) * XXH_P2, 13) * XXH_P1;
            v2 = rotl32(v2 + read32(p + 4) * XXH_P2, 13) * XXH_P1;
            v3 = rotl32(v3 + read32(p + 8) * XXH_P2, 13) * XXH_P1;
            v4 = rotl32(v4 + read32(p + 12) * XXH_P2, 13) * XXH_P1;
            p += 16;
        } while (p <= limit);
        h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18);
    }
    else {
        h = XXH_P5;
    }
    h += (uint32_t)len;
    while (p + 4 <= end) {
        h = rotl32(h + read32(p) * XXH_P3, 17) * XXH_P4;
        p += 4;
    }
    while (p < end) {
        h = rotl32(h + (*p) * XXH_P5, 11) * XXH_P1;
        p++;
    }
    h ^= h >> 15;
    h *= XXH_P2;
    h ^= h >> 13;
    h *= XXH_P3;
    h ^= h >> 16;
    return h;
}

static inline int
ascii_space(unsigned char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static PyObject *
word_hashes(PyObject *self, PyObject *arg)
{
    Py_buffer data;
    if (PyObject_GetBuffer(arg, &data, PyBUF_SIMPLE) < 0)
        return NULL;
    const unsigned char *p = data.buf, *end = p + data.len;
    /* At most one word per two bytes (a byte and a space), plus one. */
    PyObject *out = PyBytes_FromStringAndSize(NULL, (data.len / 2 + 1) * 4);
    if (out == NULL) {
        PyBuffer_Release(&data);
        return NULL;
    }
    unsigned char *dst = (unsigned char *)PyBytes_AS_STRING(out);
    Py_ssize_t n = 0;
    while (p < end) {
        while (p < end && ascii_space(*p))
            p++;
        if (p == end)
            break;
        const unsigned char *start = p;
        while (p < end && !ascii_space(*p))
            p++;
        uint32_t h = xxh32(start, p - start);
        dst[4 * n] = (unsigned char)h;
        dst[4 * n + 1] = (unsigned char)(h >> 8);
        dst[4 * n + 2] = (unsigned char)(h >> 16);
        dst[4 * n + 3] = (unsigned char)(h >> 24);
        n++;
    }
    PyBuffer_Release(&data);
    if (_PyBytes_Resize(&out, n * 4) < 0)
        return NULL;
    return out;
}

/* collapse_spaces of a 1-byte-kind text: word runs copied with memcpy. */
static PyObject *
collapse_spaces_1byte(const unsigned char *src, Py_ssize_t n)
{
    static int ready = 0;
    static unsigned char space[256];
    if (!ready) {
        for (int c = 0; c < 256; c++)
            space[c] = Py_UNICODE_ISSPACE((Py_UCS4)c) ? 1 : 0;
        ready = 1;
    }
    Py_ssize_t length = 0, words = 0;
    unsigned char maxchar = 0;
    for (Py_ssize_t i = 0; i < n;) {
        while (i < n && space[src[i]])
            i++;
        if (i == n)
            break;
        words++;
        while (i < n && !space[src[i]]) {
            if (src[i] > maxchar)
                maxchar = src[i];
            i++;
            length++;
        }
    }
    if (words > 1) {
        length += words - 1;
        if (maxchar < ' ')
            maxchar = ' ';
    }
    PyObject *out = PyUnicode_New(length, maxchar);
    if (out == NULL)
        return NULL;
    unsigned char *dst = PyUnicode_DATA(out);
    Py_ssize_t j = 0;
    for (Py_ssize_t i = 0; i < n;) {
        while (i < n && space[src[i]])
            i++;
        if (i == n)
            break;
        Py_ssize_t start = i;
        while (i < n && !space[src[i]])
            i++;
        if (j)
            dst[j++] = ' ';
        memcpy(dst + j, src + start, (size_t)(i - start));
        j += i - start;
    }
    return out;
}

/* " ".join(text.split()): runs of whitespace (Py_UNICODE_ISSPACE, as str.split) become one
 * space, leading and trailing whitespace goes. Serves exact dedup's key normalisation; the
 * reference is that expression (tests/test_dedup.py). */
static PyObject *
collapse_spaces(PyObject *self, PyObject *text)
{
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "expected a str");
        return NULL;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), length = 0;
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    if (kind == PyUnicode_1BYTE_KIND)
        return collapse_spaces_1byte(data, n);
    Py_UCS4 maxchar = 0;
    int started = 0, gap = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (Py_UNICODE_ISSPACE(c)) {
            gap = started;
            continue;
        }
        length += 1 + gap;
        if (gap && maxchar < ' ')
            maxchar = ' ';
        if (c > maxchar)
            maxchar = c;
        started = 1;
        gap = 0;
    }
    PyObject *out = PyUnicode_New(length, maxchar);
    if (out == NULL)
        return NULL;
    int okind = PyUnicode_KIND(out);
    void *odata = PyUnicode_DATA(out);
    Py_ssize_t j = 0;
    started = gap = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        if (Py_UNICODE_ISSPACE(c)) {
            gap = started;
            continue;
        }
        if (gap)
            PyUnicode_WRITE(okind, odata, j++, ' ');
        PyUnicode_WRITE(okind, odata, j++, c);
        started = 1;
        gap = 0;
    }
    return out;
}

/* ------------------------------------------ tagger sentences and spans (tagmodels) */

/* The model taggers' Python overhead, in their own method table (tagger_methods, added in
 * PyInit): `toxicity_scan` and `toxicity_spans` serve the toxicity tagger (references:
 * dolmakit.taggers.toxicity_scan.scan_reference and spans_reference), `doc_languages`
 * lid_fasttext, `new_span` both; tests/test_tagger_kernels.py. A word is what scikit-learn's default token pattern
 * `(?u)\b\w\w+\b` finds: a maximal run of at least two word characters (is_word, re's \w).
 * Columns and bounds are native int64 values grown in a plain buffer. */

typedef struct {
    int64_t *data;
    Py_ssize_t size, room;
} i64buf;

static int
i64buf_put(i64buf *buf, const int64_t *values, Py_ssize_t n)
{
    if (buf->size + n > buf->room) {
        Py_ssize_t room = buf->room ? buf->room : 1024;
        while (room < buf->size + n)
            room *= 2;
        int64_t *data = PyMem_Realloc(buf->data, sizeof(int64_t) * (size_t)room);
        if (data == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        buf->data = data;
        buf->room = room;
    }
    if (n)
        memcpy(buf->data + buf->size, values, sizeof(int64_t) * (size_t)n);
    buf->size += n;
    return 0;
}

static PyObject *
i64buf_bytes(i64buf *buf)
{
    return PyBytes_FromStringAndSize((const char *)buf->data,
                                     (Py_ssize_t)sizeof(int64_t) * buf->size);
}

/* The vocabulary indices of the known words of a lowered sentence, as int64 bytes. */
static PyObject *
sentence_columns(PyObject *piece, PyObject *vocabulary, i64buf *scratch)
{
    int kind = PyUnicode_KIND(piece);
    const void *data = PyUnicode_DATA(piece);
    Py_ssize_t n = PyUnicode_GET_LENGTH(piece), i = 0;
    scratch->size = 0;
    while (i < n) {
        if (!is_word(PyUnicode_READ(kind, data, i))) {
            i++;
            continue;
        }
        Py_ssize_t start = i;
        while (i < n && is_word(PyUnicode_READ(kind, data, i)))
            i++;
        if (i - start < 2)
            continue;
        PyObject *word = PyUnicode_Substring(piece, start, i);
        if (word == NULL)
            return NULL;
        PyObject *index = PyDict_GetItemWithError(vocabulary, word);
        Py_DECREF(word);
        if (index == NULL) {
            if (PyErr_Occurred())
                return NULL;
            continue;
        }
        int64_t value = PyLong_AsLongLong(index);
        if (value == -1 && PyErr_Occurred())
            return NULL;
        if (i64buf_put(scratch, &value, 1) < 0)
            return NULL;
    }
    return i64buf_bytes(scratch);
}

/* The lowered sentence [start, end) of a text: a slice of `lower`, or lowered on its own. */
static PyObject *
lowered_piece(PyObject *text, PyObject *lower, Py_ssize_t start, Py_ssize_t end)
{
    if (lower != Py_None)
        return PyUnicode_Substring(lower, start, end);
    PyObject *piece = PyUnicode_Substring(text, start, end);
    if (piece == NULL)
        return NULL;
    PyObject *lowered = PyObject_CallMethod(piece, "lower", NULL);
    Py_DECREF(piece);
    return lowered;
}

/* One sentence: append its columns and its ref (memo probability or lowered text). */
static int
scan_sentence(PyObject *piece, PyObject *memo, PyObject *vocabulary, PyObject *new,
              PyObject *refs, i64buf *columns, i64buf *scratch)
{
    PyObject *kept = PyDict_GetItemWithError(memo, piece), *found, *ref;
    if (kept != NULL) {
        if (!PyTuple_Check(kept) || PyTuple_GET_SIZE(kept) != 2 ||
            !PyBytes_Check(PyTuple_GET_ITEM(kept, 0))) {
            PyErr_SetString(PyExc_TypeError, "toxicity_scan: memo values must be (bytes, float)");
            return -1;
        }
        found = PyTuple_GET_ITEM(kept, 0);
        ref = PyTuple_GET_ITEM(kept, 1);
    }
    else {
        if (PyErr_Occurred())
            return -1;
        found = PyDict_GetItemWithError(new, piece);
        if (found == NULL) {
            if (PyErr_Occurred())
                return -1;
            PyObject *made = sentence_columns(piece, vocabulary, scratch);
            if (made == NULL)
                return -1;
            int failed = PyDict_SetItem(new, piece, made);
            Py_DECREF(made);
            if (failed)
                return -1;
            found = made; /* `new` holds it */
        }
        if (!PyBytes_Check(found)) {
            PyErr_SetString(PyExc_TypeError, "toxicity_scan: new values must be bytes");
            return -1;
        }
        ref = piece;
    }
    if (i64buf_put(columns, (const int64_t *)PyBytes_AS_STRING(found),
                   PyBytes_GET_SIZE(found) / (Py_ssize_t)sizeof(int64_t)) < 0)
        return -1;
    return PyList_Append(refs, ref);
}

static PyObject *
toxicity_scan(PyObject *self, PyObject *args)
{
    PyObject *texts, *lowers, *memo, *vocabulary, *new;
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!", &PyList_Type, &texts, &PyList_Type, &lowers,
                          &PyDict_Type, &memo, &PyDict_Type, &vocabulary, &PyDict_Type, &new))
        return NULL;
    Py_ssize_t docs = PyList_GET_SIZE(texts);
    if (PyList_GET_SIZE(lowers) != docs) {
        PyErr_SetString(PyExc_ValueError, "toxicity_scan: texts and lowers differ in length");
        return NULL;
    }
    i64buf columns = {0}, bounds = {0}, scratch = {0};
    PyObject *known = PyList_New(docs), *counts = PyList_New(docs), *refs = PyList_New(0);
    PyObject *result = NULL;
    if (known == NULL || counts == NULL || refs == NULL)
        goto done;
    for (Py_ssize_t d = 0; d < docs; d++) {
        PyObject *text = PyList_GET_ITEM(texts, d), *lower = PyList_GET_ITEM(lowers, d);
        if (lower != Py_None && (!PyUnicode_Check(lower) ||
                                 PyUnicode_GET_LENGTH(lower) != PyUnicode_GET_LENGTH(text))) {
            PyErr_SetString(PyExc_ValueError, "toxicity_scan: a lower is not of its text's length");
            goto done;
        }
        PyObject *spans = split_spans(text, 1);
        if (spans == NULL)
            goto done;
        Py_ssize_t before = columns.size, count = PyList_GET_SIZE(spans);
        for (Py_ssize_t s = 0; s < count; s++) {
            PyObject *span = PyList_GET_ITEM(spans, s);
            int64_t pair[2] = {PyLong_AsLongLong(PyTuple_GET_ITEM(span, 0)),
                               PyLong_AsLongLong(PyTuple_GET_ITEM(span, 1))};
            PyObject *piece = lowered_piece(text, lower, (Py_ssize_t)pair[0], (Py_ssize_t)pair[1]);
            if (piece == NULL || !PyUnicode_Check(piece)) {
                if (piece != NULL)
                    PyErr_SetString(PyExc_TypeError, "toxicity_scan: lower() gave no str");
                Py_XDECREF(piece);
                Py_DECREF(spans);
                goto done;
            }
            int failed = scan_sentence(piece, memo, vocabulary, new, refs, &columns, &scratch) < 0 ||
                         i64buf_put(&bounds, pair, 2) < 0;
            Py_DECREF(piece);
            if (failed) {
                Py_DECREF(spans);
                goto done;
            }
        }
        Py_DECREF(spans);
        PyList_SET_ITEM(known, d, PyLong_FromSsize_t(columns.size - before));
        PyList_SET_ITEM(counts, d, PyLong_FromSsize_t(count));
        if (PyList_GET_ITEM(known, d) == NULL || PyList_GET_ITEM(counts, d) == NULL)
            goto done;
    }
    PyObject *columns_bytes = i64buf_bytes(&columns), *bounds_bytes = i64buf_bytes(&bounds);
    if (columns_bytes != NULL && bounds_bytes != NULL)
        result = PyTuple_Pack(5, columns_bytes, known, bounds_bytes, counts, refs);
    Py_XDECREF(columns_bytes);
    Py_XDECREF(bounds_bytes);
done:
    Py_XDECREF(known);
    Py_XDECREF(counts);
    Py_XDECREF(refs);
    PyMem_Free(columns.data);
    PyMem_Free(bounds.data);
    PyMem_Free(scratch.data);
    return result;
}

/* Whether `type` is a tuple subclass without extra fields, such as a NamedTuple. */
static int
plain_tuple_type(PyTypeObject *type)
{
    if (PyType_IsSubtype(type, &PyTuple_Type) && type->tp_basicsize == PyTuple_Type.tp_basicsize &&
        type->tp_itemsize == PyTuple_Type.tp_itemsize)
        return 1;
    PyErr_SetString(PyExc_TypeError, "span type must be a tuple subclass without extra fields");
    return 0;
}

/* `span_type(start, end, score)` made as tuple.__new__ makes it, the items' references
 * stolen. A span of two ints and a float holds nothing a reference cycle can run through
 * (its type is a module-level class): it is left untracked by the cycle collector, which
 * untracks such exact tuples itself but never subclass instances, so that millions of spans
 * are not traced by every full collection (measured: most of a batch's span-building time);
 * refcounting alone frees them. */
static PyObject *
make_span(PyTypeObject *span_type, PyObject *start, PyObject *end, PyObject *score)
{
    PyObject *span = start && end && score ? span_type->tp_alloc(span_type, 3) : NULL;
    if (span == NULL) {
        Py_XDECREF(start);
        Py_XDECREF(end);
        Py_XDECREF(score);
        return NULL;
    }
    PyTuple_SET_ITEM(span, 0, start);
    PyTuple_SET_ITEM(span, 1, end);
    PyTuple_SET_ITEM(span, 2, score);
    if (PyLong_CheckExact(start) && PyLong_CheckExact(end) && PyFloat_CheckExact(score))
        PyObject_GC_UnTrack(span);
    return span;
}

/* new_span(span_type, start, end, score): the reference is span_type(start, end, score). */
static PyObject *
new_span(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "new_span takes (span_type, start, end, score)");
        return NULL;
    }
    if (!PyType_Check(args[0]) || !plain_tuple_type((PyTypeObject *)args[0]))
        return NULL;
    return make_span((PyTypeObject *)args[0], Py_NewRef(args[1]), Py_NewRef(args[2]),
                     Py_NewRef(args[3]));
}

static PyObject *
toxicity_spans(PyObject *self, PyObject *args)
{
    Py_buffer bounds;
    PyObject *counts, *refs, *scores, *type;
    double minimum;
    if (!PyArg_ParseTuple(args, "y*O!O!O!dO!", &bounds, &PyList_Type, &counts, &PyList_Type,
                          &refs, &PyDict_Type, &scores, &minimum, &PyType_Type, &type))
        return NULL;
    PyTypeObject *span_type = (PyTypeObject *)type;
    PyObject *out = NULL;
    const int64_t *pairs = bounds.buf;
    Py_ssize_t sentences = PyList_GET_SIZE(refs), k = 0;
    if (!plain_tuple_type(span_type))
        goto done;
    if (bounds.len != sentences * 2 * (Py_ssize_t)sizeof(int64_t)) {
        PyErr_SetString(PyExc_ValueError, "toxicity_spans: bounds and refs differ in length");
        goto done;
    }
    Py_ssize_t docs = PyList_GET_SIZE(counts);
    out = PyList_New(docs);
    if (out == NULL)
        goto done;
    for (Py_ssize_t d = 0; d < docs; d++) {
        Py_ssize_t count = PyLong_AsSsize_t(PyList_GET_ITEM(counts, d));
        if (count < 0 || count > sentences - k) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "toxicity_spans: counts exceed the sentences");
            goto fail;
        }
        PyObject *kept = PyList_New(0);
        if (kept == NULL)
            goto fail;
        PyList_SET_ITEM(out, d, kept);
        for (Py_ssize_t s = 0; s < count; s++, k++) {
            PyObject *ref = PyList_GET_ITEM(refs, k), *prob = ref;
            if (!PyFloat_Check(ref)) {
                prob = PyDict_GetItemWithError(scores, ref);
                if (prob == NULL) {
                    if (!PyErr_Occurred())
                        PyErr_SetObject(PyExc_KeyError, ref);
                    goto fail;
                }
            }
            double value = PyFloat_AsDouble(prob);
            if (value == -1.0 && PyErr_Occurred())
                goto fail;
            if (!(value >= minimum))
                continue;
            PyObject *span = make_span(span_type, PyLong_FromLongLong(pairs[2 * k]),
                                       PyLong_FromLongLong(pairs[2 * k + 1]), Py_NewRef(prob));
            if (span == NULL || PyList_Append(kept, span) < 0) {
                Py_XDECREF(span);
                goto fail;
            }
            Py_DECREF(span);
        }
    }
    goto done;
fail:
    Py_CLEAR(out);
done:
    PyBuffer_Release(&bounds);
    return out;
}

/* doc_languages(spans, preds): a document's languages from its paragraphs' predictions, the
 * length-weighted mean of their scores, most likely first, ties by code; one paragraph gives
 * its prediction unchanged. Reference: dolmakit.taggers.lid.doc_from_paragraphs_reference
 * (tests/test_tagger_kernels.py). Sums are taken in paragraph order, as the reference's. */
typedef struct {
    PyObject *lang; /* borrowed from preds */
    double weighted;
} lang_weight;

static int
by_weight_then_code(const void *a, const void *b)
{
    const lang_weight *x = a, *y = b;
    if (x->weighted != y->weighted)
        return x->weighted > y->weighted ? -1 : 1;
    return PyUnicode_Compare(x->lang, y->lang);
}

__attribute__((optimize("fp-contract=off"))) static PyObject *
doc_languages(PyObject *self, PyObject *args)
{
    PyObject *spans, *preds;
    if (!PyArg_ParseTuple(args, "O!O!", &PyList_Type, &spans, &PyList_Type, &preds))
        return NULL;
    Py_ssize_t n = PyList_GET_SIZE(preds);
    if (PyList_GET_SIZE(spans) != n) {
        PyErr_SetString(PyExc_ValueError, "doc_languages: spans and preds differ in length");
        return NULL;
    }
    if (n == 1)
        return Py_NewRef(PyList_GET_ITEM(preds, 0));
    lang_weight *langs = NULL;
    Py_ssize_t count = 0, room = 0;
    long long total = 0;
    PyObject *out = NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *span = PyList_GET_ITEM(spans, i);
        if (!PyTuple_Check(span) || PyTuple_GET_SIZE(span) != 2) {
            PyErr_SetString(PyExc_TypeError, "doc_languages: a span is not a (start, end) pair");
            goto done;
        }
        long long start = PyLong_AsLongLong(PyTuple_GET_ITEM(span, 0));
        long long end = PyLong_AsLongLong(PyTuple_GET_ITEM(span, 1));
        if (PyErr_Occurred())
            goto done;
        total += end - start;
        PyObject *pred = PySequence_Fast(PyList_GET_ITEM(preds, i), "a prediction is a sequence");
        if (pred == NULL)
            goto done;
        Py_ssize_t k = PySequence_Fast_GET_SIZE(pred);
        PyObject **items = PySequence_Fast_ITEMS(pred);
        for (Py_ssize_t j = 0; j < k; j++) {
            PyObject *pair = items[j];
            if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2 ||
                !PyUnicode_Check(PyTuple_GET_ITEM(pair, 0)) ||
                !PyFloat_Check(PyTuple_GET_ITEM(pair, 1))) {
                PyErr_SetString(PyExc_TypeError, "doc_languages: not a (str, float) pair");
                Py_DECREF(pred);
                goto done;
            }
            PyObject *lang = PyTuple_GET_ITEM(pair, 0);
            double product = PyFloat_AS_DOUBLE(PyTuple_GET_ITEM(pair, 1)) * (double)(end - start);
            Py_ssize_t at = 0;
            while (at < count && langs[at].lang != lang) {
                int same = PyUnicode_Compare(langs[at].lang, lang) == 0;
                if (same)
                    break;
                at++;
            }
            if (at == count) {
                if (count == room) {
                    room = room ? 2 * room : 16;
                    lang_weight *grown = PyMem_Realloc(langs, sizeof(lang_weight) * (size_t)room);
                    if (grown == NULL) {
                        PyErr_NoMemory();
                        Py_DECREF(pred);
                        goto done;
                    }
                    langs = grown;
                }
                langs[count].lang = lang; /* preds keeps it alive */
                langs[count].weighted = 0.0;
                count++;
            }
            langs[at].weighted = langs[at].weighted + product;
        }
        Py_DECREF(pred);
    }
    if (total == 0) {
        PyErr_SetString(PyExc_ZeroDivisionError, "doc_languages: paragraphs of no characters");
        goto done;
    }
    qsort(langs, (size_t)count, sizeof(lang_weight), by_weight_then_code);
    out = PyList_New(count);
    if (out == NULL)
        goto done;
    for (Py_ssize_t j = 0; j < count; j++) {
        double mean = langs[j].weighted / (double)total;
        PyObject *pair = Py_BuildValue("(Od)", langs[j].lang, mean < 1.0 ? mean : 1.0);
        if (pair == NULL) {
            Py_CLEAR(out);
            goto done;
        }
        PyList_SET_ITEM(out, j, pair);
    }
done:
    PyMem_Free(langs);
    return out;
}

static PyMethodDef tagger_methods[] = {
    {"toxicity_scan", toxicity_scan, METH_VARARGS,
     "Return the sentences of texts with their known words' columns (toxicity tagger)."},
    {"toxicity_spans", toxicity_spans, METH_VARARGS,
     "Return per text the spans of its sentences scoring at least a minimum (toxicity tagger)."},
    {"doc_languages", doc_languages, METH_VARARGS,
     "Return a document's languages from its paragraphs' predictions (lid_fasttext)."},
    {"new_span", (PyCFunction)(void (*)(void))new_span, METH_FASTCALL,
     "Return span_type(start, end, score), untracked by the cycle collector (lid, toxicity)."},
    {NULL, NULL, 0, NULL},
};

/* ----------------------------------------- end of tagger sentences and spans (tagmodels) */

/* ---------------------------------------------------------------- profanity model
 * P(toxic) of rows of vocabulary columns (native int64, 0-based, row after row, the row
 * lengths in a list), as dolmakit.taggers.profanity computes it (and
 * through it scikit-learn): per row the distinct columns ascending with their counts, each
 * count times its idf, divided by the L2 norm of the row (sum of squares in column order;
 * a row of zeros stays zeros), then for each of K classifiers the dot product with its
 * weights in column order plus its intercept, the calibration 1 / (1 + exp(-z)) with
 * z = -(slope * score + offset), and the mean of the K probabilities added in order.
 * Compiled with -ffp-contract=off so that no multiply-add is fused. */

static int
compare_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static int
double_buffer(PyObject *obj, Py_buffer *view, Py_ssize_t count, const char *what)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    if (view->itemsize != sizeof(double) || view->format == NULL || strcmp(view->format, "d") != 0
        || view->len != count * (Py_ssize_t)sizeof(double)) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd float64 values", what, count);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *
profanity_scores(PyObject *self, PyObject *args)
{
    PyObject *columns, *lengths, *idf_obj, *weights_obj, *intercepts_obj, *slopes_obj,
        *offsets_obj;
    Py_ssize_t vocabulary, classifiers;
    if (!PyArg_ParseTuple(args, "OO!nnOOOOO:profanity_scores", &columns,
                          &PyList_Type, &lengths, &vocabulary, &classifiers, &idf_obj,
                          &weights_obj, &intercepts_obj, &slopes_obj, &offsets_obj))
        return NULL;
    if (vocabulary < 1 || classifiers < 1) {
        PyErr_SetString(PyExc_ValueError, "profanity_scores: empty model");
        return NULL;
    }
    Py_buffer cols, idf, weights, intercepts, slopes, offsets;
    if (PyObject_GetBuffer(columns, &cols, PyBUF_C_CONTIGUOUS) < 0)
        return NULL;
    if (cols.len % (Py_ssize_t)sizeof(int64_t) != 0) {
        PyBuffer_Release(&cols);
        PyErr_SetString(PyExc_ValueError, "profanity_scores: columns are not int64 values");
        return NULL;
    }
    const int64_t *column = cols.buf;
    int got = 0;
    PyObject *out = NULL;
    long *row = NULL;
    double *values = NULL;
    if (double_buffer(idf_obj, &idf, vocabulary, "idf") < 0)
        goto done;
    got = 1;
    if (double_buffer(weights_obj, &weights, vocabulary * classifiers, "weights") < 0)
        goto done;
    got = 2;
    if (double_buffer(intercepts_obj, &intercepts, classifiers, "intercepts") < 0)
        goto done;
    got = 3;
    if (double_buffer(slopes_obj, &slopes, classifiers, "slopes") < 0)
        goto done;
    got = 4;
    if (double_buffer(offsets_obj, &offsets, classifiers, "offsets") < 0)
        goto done;
    got = 5;
    const double *w_idf = idf.buf, *w = weights.buf, *w0 = intercepts.buf, *a = slopes.buf,
                 *b = offsets.buf;
    Py_ssize_t rows = PyList_GET_SIZE(lengths), total = cols.len / (Py_ssize_t)sizeof(int64_t),
               at = 0;
    Py_ssize_t longest = 0;
    for (Py_ssize_t r = 0; r < rows; r++) {
        Py_ssize_t n = PyLong_AsSsize_t(PyList_GET_ITEM(lengths, r));
        if (n < 0) {
            if (!PyErr_Occurred())
                PyErr_SetString(PyExc_ValueError, "profanity_scores: negative length");
            goto done;
        }
        if (n > longest)
            longest = n;
        at += n;
    }
    if (at != total) {
        PyErr_SetString(PyExc_ValueError, "profanity_scores: lengths do not add up to columns");
        goto done;
    }
    row = PyMem_Malloc((size_t)(longest ? longest : 1) * sizeof(long));
    values = PyMem_Malloc((size_t)(longest ? longest : 1) * sizeof(double));
    out = PyList_New(rows);
    if (row == NULL || values == NULL || out == NULL) {
        if (!PyErr_Occurred())
            PyErr_NoMemory();
        Py_CLEAR(out);
        goto done;
    }
    at = 0;
    for (Py_ssize_t r = 0; r < rows; r++) {
        Py_ssize_t n = PyLong_AsSsize_t(PyList_GET_ITEM(lengths, r));
        for (Py_ssize_t i = 0; i < n; i++) {
            int64_t c = column[at + i];
            if (c < 0 || c >= vocabulary) {
                PyErr_SetString(PyExc_ValueError, "profanity_scores: column out of range");
                Py_CLEAR(out);
                goto done;
            }
            row[i] = (long)c;
        }
        at += n;
        qsort(row, (size_t)n, sizeof(long), compare_long);
        Py_ssize_t distinct = 0;
        for (Py_ssize_t i = 0; i < n;) {
            Py_ssize_t j = i;
            while (j < n && row[j] == row[i])
                j++;
            row[distinct] = row[i];
            values[distinct] = (double)(j - i) * w_idf[row[i]];
            distinct++;
            i = j;
        }
        double squares = 0.0;
        for (Py_ssize_t i = 0; i < distinct; i++)
            squares += values[i] * values[i];
        if (squares != 0.0) {
            double norm = sqrt(squares);
            for (Py_ssize_t i = 0; i < distinct; i++)
                values[i] /= norm;
        }
        double mean = 0.0;
        for (Py_ssize_t k = 0; k < classifiers; k++) {
            double dot = 0.0;
            for (Py_ssize_t i = 0; i < distinct; i++)
                dot += values[i] * w[row[i] * classifiers + k];
            double score = dot + w0[k];
            double z = -(a[k] * score + b[k]);
            mean += 1.0 / (1.0 + exp(-z));
        }
        mean /= (double)classifiers;
        PyObject *p = PyFloat_FromDouble(mean);
        if (p == NULL) {
            Py_CLEAR(out);
            goto done;
        }
        PyList_SET_ITEM(out, r, p);
    }
done:
    PyMem_Free(row);
    PyMem_Free(values);
    PyBuffer_Release(&cols);
    if (got >= 1)
        PyBuffer_Release(&idf);
    if (got >= 2)
        PyBuffer_Release(&weights);
    if (got >= 3)
        PyBuffer_Release(&intercepts);
    if (got >= 4)
        PyBuffer_Release(&slopes);
    if (got >= 5)
        PyBuffer_Release(&offsets);
    return out;
}

/* ---------------------------------------------------------------- MinHash normal form
 * map_utf8(text, table): each code point c of text becomes table[c] (a uint32 array over all
 * code points), encoded as UTF-8 with lone surrogates as three bytes (Python's
 * "surrogatepass"); returns (bytes, the largest mapped code point, 0 for an empty text). */

static PyObject *
map_utf8(PyObject *self, PyObject *args)
{
    PyObject *text, *table_obj;
    if (!PyArg_ParseTuple(args, "UO:map_utf8", &text, &table_obj))
        return NULL;
    Py_buffer table;
    if (PyObject_GetBuffer(table_obj, &table, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    if (table.itemsize != 4 || table.len != 0x110000 * 4) {
        PyBuffer_Release(&table);
        PyErr_SetString(PyExc_ValueError, "map_utf8: expected a uint32 table of 0x110000 entries");
        return NULL;
    }
    const uint32_t *map = table.buf;
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    PyObject *out = PyBytes_FromStringAndSize(NULL, n * 4);
    if (out == NULL) {
        PyBuffer_Release(&table);
        return NULL;
    }
    unsigned char *o = (unsigned char *)PyBytes_AS_STRING(out);
    Py_ssize_t j = 0;
    uint32_t top = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint32_t c = map[PyUnicode_READ(kind, data, i)];
        if (c > 0x10FFFF)
            c = 0xFFFD; /* a table never holds these; keep the bytes valid if one does */
        if (c > top)
            top = c;
        if (c < 0x80) {
            o[j++] = (unsigned char)c;
        }
        else if (c < 0x800) {
            o[j++] = (unsigned char)(0xC0 | (c >> 6));
            o[j++] = (unsigned char)(0x80 | (c & 0x3F));
        }
        else if (c < 0x10000) {
            o[j++] = (unsigned char)(0xE0 | (c >> 12));
            o[j++] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            o[j++] = (unsigned char)(0x80 | (c & 0x3F));
        }
        else {
            o[j++] = (unsigned char)(0xF0 | (c >> 18));
            o[j++] = (unsigned char)(0x80 | ((c >> 12) & 0x3F));
            o[j++] = (unsigned char)(0x80 | ((c >> 6) & 0x3F));
            o[j++] = (unsigned char)(0x80 | (c & 0x3F));
        }
    }
    PyBuffer_Release(&table);
    if (_PyBytes_Resize(&out, j) < 0)
        return NULL;
    return Py_BuildValue("(NI)", out, (unsigned int)top);
}

static PyMethodDef methods[] = {
    {"summarize", summarize, METH_O, "Return the document statistics tuple of a text."},
    {"c4_lines", c4_lines, METH_O, "Return the C4 line statistics of a text."},
    {"token_hash", token_hash, METH_O, "Return the 64-bit hash tokens_in uses for a token."},
    {"tokens_in", tokens_in, METH_VARARGS,
     "Return the distinct word tokens whose hash bit is set in a bit table."},
    {"put_values", put_values, METH_VARARGS,
     "Write document-level values as [[0, size, value]] spans into an attribute dict."},
    {"checked_rows", checked_rows, METH_VARARGS,
     "Return each document's checked attribute dict from the taggers' results, or None."},
    {"pii_candidates", pii_candidates, METH_O,
     "Return where the pii tagger's patterns can match in a text."},
    {"bad_span_key", bad_span_key, METH_O,
     "Return the first key of an attribute dict whose value is not a list of spans, or None."},
    {"paragraph_spans", paragraph_spans, METH_O,
     "Return the stripped, non-blank paragraphs of a text as (start, end) pairs."},
    {"sentence_spans", sentence_spans, METH_O,
     "Return the stripped, non-blank sentences of a text as (start, end) pairs."},
    {"collapse_spaces", collapse_spaces, METH_O,
     "Return \" \".join(text.split()): whitespace runs as one space, ends stripped."},
    {"word_hashes", word_hashes, METH_O,
     "Return the XXH32 hashes of the whitespace-separated words of bytes, as uint32 bytes."},
    {"minhash_min", minhash_min, METH_VARARGS,
     "Write the MinHash signature rows of documents' mixed shingle hashes into a buffer."},
    {"map_utf8", map_utf8, METH_VARARGS,
     "Return (UTF-8 of a text mapped code point by code point through a table, top point)."},
    {"profanity_scores", profanity_scores, METH_VARARGS,
     "Return P(toxic) of rows of vocabulary columns under the profanity model's numbers."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_textstats",
    "Compiled text statistics for dolmakit's rule taggers (pure-Python reference: "
    "dolmakit.taggers.rules).",
    -1, methods,
};

PyMODINIT_FUNC
PyInit__textstats(void)
{
    fill_tables();
    ROUND_NAME = PyUnicode_InternFromString("__round__");
    DIGITS = PyLong_FromLong(5);
    if (ROUND_NAME == NULL || DIGITS == NULL)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddIntConstant(m, "FIELDS", S_FIELDS) < 0 ||
        PyModule_AddFunctions(m, tagger_methods) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
