package dev.sgbackup.dedup;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The in-memory index: chunk id → pack, offset, length, raw length, flags. An open-addressing hash table with
 * linear probing over one {@code long[]}, six longs a slot (the 32-byte id; flags, pack number and offset;
 * length and raw length), filled to at most 85%: 48 bytes a slot, about 57–85 bytes an entry (a table just
 * grown by half is 57% full), plus 32 bytes and a map entry per pack. 10 million chunks take 560–850 MB; one
 * million ≈ 56–85 MB. Pre-size it ({@link #ChunkIndex(int)}) from the number of entries about to be loaded to
 * start at the low end. No object per entry, so the garbage collector has nothing to trace.
 *
 * <p>Ids are uniformly distributed (SHA-256 or HMAC), so their first eight bytes are the hash. Not thread-safe.
 */
final class ChunkIndex {
    private static final int STRIDE = 6;
    private static final double MAX_LOAD = 0.85;
    private static final int MAX_PACKS = (1 << 24) - 1;

    private long[] slots;
    private int capacity;
    private int size;
    private final List<String> packs = new ArrayList<>();
    private final Map<String, Integer> packNumbers = new HashMap<>();

    ChunkIndex() {
        this(1024);
    }

    /** An index with room for {@code expected} entries before it grows. */
    ChunkIndex(int expected) {
        allocate(Math.max(16, (int) Math.min(Integer.MAX_VALUE / STRIDE - 1, (long) (expected / MAX_LOAD) + 1)));
    }

    private void allocate(int cap) {
        capacity = cap;
        slots = new long[cap * STRIDE];
    }

    int size() {
        return size;
    }

    /** Bytes the table itself holds (not counting pack names). */
    long tableBytes() {
        return (long) slots.length * Long.BYTES;
    }

    int packCount() {
        return packs.size();
    }

    boolean contains(ChunkId id) {
        return find(ByteBuffer.wrap(id.bytes())) >= 0;
    }

    /** The entry for {@code id}, or null. */
    IndexEntry get(ChunkId id) {
        int slot = find(ByteBuffer.wrap(id.bytes()));
        return slot < 0 ? null : entry(slot);
    }

    /** Adds an entry; returns false (and keeps the first) if the id is already there. */
    boolean add(IndexEntry e) {
        if (size + 1 > capacity * MAX_LOAD) {
            grow();
        }
        ByteBuffer id = ByteBuffer.wrap(e.id().bytes());
        int slot = find(id);
        if (slot >= 0) {
            return false;
        }
        slot = -slot - 1;
        Integer pack = packNumbers.get(e.pack());
        if (pack == null) {
            if (packs.size() == MAX_PACKS) {
                throw new IllegalStateException("an index holds at most " + MAX_PACKS + " packs");
            }
            pack = packs.size();
            packs.add(e.pack());
            packNumbers.put(e.pack(), pack);
        }
        int base = slot * STRIDE;
        for (int i = 0; i < 4; i++) {
            slots[base + i] = id.getLong(i * 8);
        }
        slots[base + 4] = (long) (e.flags() & 0xff) << 56 | (long) (pack + 1) << 32 | (e.offset() & 0xffffffffL);
        slots[base + 5] = (long) e.length() << 32 | (e.rawLength() & 0xffffffffL);
        size++;
        return true;
    }

    /** Every entry, in no particular order. */
    void forEach(Consumer<IndexEntry> action) {
        for (int s = 0; s < capacity; s++) {
            if (slots[s * STRIDE + 4] != 0) {
                action.accept(entry(s));
            }
        }
    }

    /** The slot holding {@code id}, or {@code -(free slot) - 1}. */
    private int find(ByteBuffer id) {
        long a = id.getLong(0);
        long b = id.getLong(8);
        long c = id.getLong(16);
        long d = id.getLong(24);
        int s = (int) Long.remainderUnsigned(a, capacity);
        while (true) {
            int base = s * STRIDE;
            if (slots[base + 4] == 0) {
                return -s - 1;
            }
            if (slots[base] == a && slots[base + 1] == b && slots[base + 2] == c && slots[base + 3] == d) {
                return s;
            }
            s = s + 1 == capacity ? 0 : s + 1;
        }
    }

    private IndexEntry entry(int slot) {
        int base = slot * STRIDE;
        ByteBuffer id = ByteBuffer.allocate(ChunkId.BYTES);
        for (int i = 0; i < 4; i++) {
            id.putLong(slots[base + i]);
        }
        long p = slots[base + 4];
        long l = slots[base + 5];
        int pack = (int) ((p >>> 32) & 0xffffff) - 1;
        return new IndexEntry(ChunkId.of(id.array()), packs.get(pack), (int) p, (int) (l >>> 32), (int) l, (int) (p >>> 56));
    }

    private void grow() {
        long[] old = slots;
        int oldCap = capacity;
        allocate((int) Math.min(Integer.MAX_VALUE / STRIDE - 1, oldCap + (long) oldCap / 2 + 1));
        for (int s = 0; s < oldCap; s++) {
            int base = s * STRIDE;
            if (old[base + 4] == 0) {
                continue;
            }
            int t = (int) Long.remainderUnsigned(old[base], capacity);
            while (slots[t * STRIDE + 4] != 0) {
                t = t + 1 == capacity ? 0 : t + 1;
            }
            System.arraycopy(old, base, slots, t * STRIDE, STRIDE);
        }
    }

    @Override
    public String toString() {
        return "ChunkIndex[" + size + " chunks in " + packs.size() + " packs]";
    }
}
