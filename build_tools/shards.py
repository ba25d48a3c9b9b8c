"""The binary shard format of the search index: a shard holds sorted terms and their postings.

A shard file: varints of the term count and of the term bytes' size; per term, a varint of the
characters it shares with the previous term; the rest of each term, UTF-8, "\\n"-separated; per
term, a varint of its postings' byte length; then the postings, each term's byte-aligned
(`rice_coded`). `Shard` reads it here; `parseShard` and `postings` in citekb-search.js in the browser.
"""

from __future__ import annotations


def varints(values):
    """LEB128 bytes of non-negative integers below 2**32 (a numpy array)."""
    import numpy as np

    values = values.astype(np.uint32, copy=False)
    sizes = np.ones(len(values), dtype=np.uint8)
    for bits in (7, 14, 21, 28):
        sizes += values >= (1 << bits)
    ends = np.cumsum(sizes, dtype=np.int64)
    out = np.empty(int(ends[-1]) if len(ends) else 0, dtype=np.uint8)
    for k in range(int(sizes.max(initial=1))):
        has = np.flatnonzero(sizes > k)
        byte = (values[has] >> np.uint32(7 * k)) & np.uint32(127)
        more = (sizes[has] > k + 1).astype(np.uint32) << np.uint32(7)
        out[ends[has] - sizes[has] + k] = byte | more
    return out


MAX_RICE = 31  # largest Rice parameter (5 bits in a term's header)


def rice_coded(gap, tf, first, counted, batch: int) -> tuple:
    """`rice_batch` over whole terms, about `batch` postings at a time: bounds the coder's memory
    (terms are byte-aligned, so batches join)."""
    import numpy as np

    if not len(gap):
        return np.zeros(0, dtype=np.uint8), np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(first)
    at_or_after = np.searchsorted(starts, np.arange(0, len(gap), batch))
    cuts = np.unique(starts[np.minimum(at_or_after, len(starts) - 1)])
    encoded, term_at, done = [], [], 0
    for lo, hi in zip(cuts, np.append(cuts[1:], len(gap))):
        data, at = rice_batch(gap[lo:hi], tf[lo:hi], first[lo:hi], counted[lo:hi])
        encoded.append(data)
        term_at.append(at + done)
        done += len(data)
    return np.concatenate(encoded), np.concatenate(term_at)


def rice_batch(gap, tf, first, counted) -> tuple:
    """Postings as bits, each term's byte-aligned: a header (zero-flag mode: 1 bit, Rice parameter
    k: 5 bits, least significant first), then per posting its gap and tf, then 1-bits to the byte.
    Gap: in zero-flag mode a 1-bit says it is not 0, and then gap - 1 follows; the value v is
    v >> k 1-bits, a 0, and v's low k bits. tf: tf - 1 1-bits and a 0 where `counted`; a term
    whose tf is not counted writes no tf bits (the reader knows such terms by name and reads tf 1).
    Each term takes the mode and k that make it shortest: a Rice code is within a few percent of
    the entropy of gaps between random documents, and the zero flag pays where a word recurs in
    consecutive chunks. Returns
    the bytes and each term's first byte. (Shard.postings and the worker's `postings` read it.)"""
    import numpy as np

    count = len(gap)
    starts = np.flatnonzero(first)
    term_of = np.cumsum(first, dtype=np.int32) - 1
    size = np.diff(np.append(starts, count))
    gap = gap.astype(np.int64)
    nonzero = gap > 0

    def best(values, weight) -> tuple:
        """Per term, the shortest k near log2 of its mean value (where the optimum lies) and its bits."""
        coded = np.maximum(np.add.reduceat(weight, starts), 1)  # values coded per term
        near = np.floor(np.log2(np.add.reduceat(values, starts) / coded + 1)).astype(np.int64)
        choices = [np.clip(near + step, 0, MAX_RICE) for step in (-1, 0, 1)]
        costs = np.stack([np.add.reduceat((values >> c[term_of]) + (c[term_of] + 1) * weight, starts) for c in choices])
        pick = costs.argmin(axis=0)
        return np.choose(pick, choices), np.choose(pick, costs)

    plain_k, plain_bits = best(gap, np.ones(count, dtype=np.int64))
    value = np.maximum(gap - 1, 0)  # what zero-flag mode codes where the gap is not 0
    del gap
    flag_k, flag_bits = best(value, nonzero.astype(np.int64))
    mode = flag_bits + size < plain_bits  # the flags cost one bit a posting
    k_of_term = np.where(mode, flag_k, plain_k)
    flag, k = mode[term_of], k_of_term[term_of]
    value += ~flag & nonzero  # plain mode codes the gap itself
    has_gap = ~flag | nonzero
    del nonzero
    quotient = np.where(has_gap, value >> k, 0)
    tf = tf.astype(np.int64) * counted  # 0 where not counted (there tf is 1: no 1-bits either)
    bits = flag + has_gap * (quotient + 1 + k) + tf
    posting_at = np.cumsum(bits) - bits  # each posting's first bit, counted without headers and padding
    term_bits = 6 + np.add.reduceat(bits, starts)
    del bits
    term_bytes = (term_bits + 7) // 8
    term_at = (np.cumsum(term_bytes) - term_bytes) * 8  # each term's first bit
    gap_at = term_at[term_of] + 6 + posting_at - posting_at[starts][term_of] + flag  # where a gap's ones begin
    del posting_at
    ones = np.zeros(int(term_bytes.sum()) * 8 + 1, dtype=np.int8)  # +1 at a run's start, -1 past its end

    def run(begin, length) -> None:  # runs are apart, each ended by a 0 or a term's header: no two share a mark
        begin, length = begin[length > 0], length[length > 0]
        ones[begin] = 1
        ones[begin + length] = -1

    run(gap_at[has_gap], quotient[has_gap])
    run(gap_at + has_gap * (quotient + 1 + k), np.maximum(tf - 1, 0))
    end = term_at + term_bits
    run(end, term_at + term_bytes * 8 - end)  # padding
    stream = np.cumsum(ones, dtype=np.int8)[:-1].astype(bool)
    set_bits = [term_at[mode]]  # header: mode, then k's bits
    set_bits += [term_at[(k_of_term >> b) & 1 == 1] + 1 + b for b in range(5)]
    set_bits.append(gap_at[flag & has_gap] - 1)  # zero-flag mode: this gap is not 0
    rest = has_gap & (k > 0)  # postings with low bits to write: fewer for each next bit
    rest_at, rest_value, rest_k = (gap_at + quotient + 1)[rest], value[rest], k[rest]
    del gap_at, quotient, value, rest
    for b in range(int(k.max(initial=0))):
        set_bits.append(rest_at[(rest_value & 1) == 1] + b)
        more = rest_k > b + 1
        rest_at, rest_value, rest_k = rest_at[more], rest_value[more] >> 1, rest_k[more]
    stream[np.concatenate(set_bits)] = True
    return np.packbits(stream, bitorder="little"), term_at // 8


def front_coded(terms: list[str]) -> tuple[list[int], list[str]]:
    """Sorted terms as (characters shared with the previous term, the rest): a shard's terms share
    their first character, often more."""
    shared, suffixes, previous = [], [], ""
    for term in terms:
        common, most = 0, min(len(previous), len(term))
        while common < most and previous[common] == term[common]:
            common += 1
        shared.append(common)
        suffixes.append(term[common:])
        previous = term
    return shared, suffixes


def shard_file(terms: list[str], spans, postings: bytes) -> bytes:
    """A shard file (see the module doc): its sorted terms, their postings' byte lengths, the postings."""
    import numpy as np

    shared, suffixes = front_coded(terms)
    words = "\n".join(suffixes).encode("utf-8")
    return (
        varints(np.array([len(terms), len(words)])).tobytes()
        + varints(np.array(shared, dtype=np.int64)).tobytes()
        + words
        + varints(np.asarray(spans)).tobytes()
        + postings
    )


_BITS = [format(byte, "08b")[::-1] for byte in range(256)]  # least significant bit first


def read_varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 127) << shift
        if byte < 128:
            return value, at
        shift += 7


def read_varints(data: bytes, at: int, count: int) -> tuple[list[int], int]:
    values = []
    for _ in range(count):
        value, at = read_varint(data, at)
        values.append(value)
    return values, at


class Shard:
    """One shard file: its sorted terms and where each term's postings are."""

    def __init__(self, data: bytes):
        count, at = read_varint(data, 0)
        size, at = read_varint(data, at)
        shared, at = read_varints(data, at, count)
        self.terms, previous = [], ""
        for common, suffix in zip(shared, data[at : at + size].decode("utf-8").split("\n") if count else []):
            previous = previous[:common] + suffix
            self.terms.append(previous)
        at += size
        self.offsets: dict[str, tuple[int, int]] = {}
        spans, at = read_varints(data, at, count)
        for term, span in zip(self.terms, spans):
            self.offsets[term] = (at, at + span)
            at += span
        self.data = data

    def postings(self, term: str, counted: bool = True) -> list[tuple[int, int]]:
        """(document, tf) pairs of a term, read as `rice_coded` wrote them (tf 1 where not `counted`)."""
        start, end = self.offsets[term]
        bits = "".join(_BITS[byte] for byte in self.data[start:end])
        flagged, k = bits[0] == "1", int(bits[5:0:-1], 2)
        out, document, at = [], -1, 6
        while at < len(bits):
            gap = 0
            if not flagged or bits[at] == "1":
                at += flagged
                stop = bits.find("0", at)
                if stop < 0:
                    break  # the 1-bits that fill the last byte
                rest = bits[stop + 1 : stop + 1 + k]
                gap = ((stop - at) << k | (int(rest[::-1], 2) if k else 0)) + flagged
                at = stop + 1 + k
            else:
                at += 1
            document += gap + 1
            if not counted:
                out.append((document, 1))
                continue
            stop = bits.find("0", at)
            if stop < 0:
                raise ValueError(f"a posting of {term!r} runs past its span")  # a damaged shard: never loop
            out.append((document, stop - at + 1))
            at = stop + 1
        return out

    def with_prefix(self, prefix: str) -> list[str]:
        import bisect

        at = bisect.bisect_left(self.terms, prefix)
        found = []
        while at < len(self.terms) and self.terms[at].startswith(prefix):
            found.append(self.terms[at])
            at += 1
        return found
