package dev.etcdlock.internal.cli;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.kv.Kv;
import dev.etcdlock.internal.proto.KeyValue;
import dev.etcdlock.internal.proto.LeaseGrpc;
import dev.etcdlock.internal.proto.LeaseTimeToLiveRequest;
import dev.etcdlock.internal.proto.LeaseTimeToLiveResponse;
import dev.etcdlock.internal.proto.RangeRequest;
import dev.etcdlock.internal.proto.RangeResponse;
import dev.etcdlock.internal.transport.EtcdErrors;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Reads what {@code status} shows: the keys under {@code <name>/} at one revision, their leases' TTLs, and for each
 * holder the revision at which it came to hold.
 *
 * <p>etcd keeps no time stamps, so "since when" is a revision: the first one, from the holder's create revision on,
 * at which fewer keys block it than may be left while it holds. Blockers only ever go (a later key cannot be
 * created earlier), so that is a binary search over past revisions, a keys-only Range per step (not count_only:
 * etcd counts before it filters by create revision). Compacted history makes the answer a bound.
 */
final class StatusReader {
    /** Past this many holders (a wide semaphore, many readers), their start revisions are not searched. */
    static final int MAX_SINCE_SEARCHES = 16;

    /** When a holder came to hold: at {@code revision}, or at or before it when history before it is compacted. */
    record Since(long revision, boolean exact) {
    }

    /**
     * One reading.
     *
     * @param ttls  seconds left per lease id, -1 for a lease already gone
     * @param since per holder key; missing when not searched
     */
    record Snapshot(QueueView view, long revision, Map<Long, Long> ttls, Map<ByteString, Since> since) {
        long ttl(long lease) {
            return ttls.getOrDefault(lease, -1L);
        }
    }

    private enum Probe { COMPACTED, BLOCKED, FREE }

    private final Engine engine;
    private final String name;
    private final QueueView.Told told;
    private final ByteString prefix;
    /**
     * Start revisions found, by holder key and create revision: a holder holds until its key goes, so under --watch
     * each is searched once, not at every change.
     */
    private final Map<QueueView.Hold, Since> found = new HashMap<>();

    StatusReader(Engine engine, String name, QueueView.Told told) {
        this.engine = engine;
        this.name = name;
        this.told = told;
        this.prefix = ByteString.copyFromUtf8(name + "/");
    }

    ByteString prefix() {
        return prefix;
    }

    /** Reads the queue now. Blocking; call from the command's own thread. */
    Snapshot read() {
        RangeResponse range = engine.kv().range(RangeRequest.newBuilder().setKey(prefix)
                .setRangeEnd(Kv.prefixEnd(prefix))
                .setSortTarget(RangeRequest.SortTarget.CREATE)
                .setSortOrder(RangeRequest.SortOrder.ASCEND)
                .build()).join();
        long revision = range.getHeader().getRevision();
        QueueView view = QueueView.of(name, range.getKvsList(), told);

        Map<Long, CompletableFuture<LeaseTimeToLiveResponse>> calls = new LinkedHashMap<>();
        for (KeyValue kv : range.getKvsList()) {
            if (kv.getLease() != 0) {
                calls.computeIfAbsent(kv.getLease(), id -> engine.transport().call(
                        LeaseGrpc.getLeaseTimeToLiveMethod(), LeaseTimeToLiveRequest.newBuilder().setID(id).build(),
                        true));
            }
        }
        Map<Long, Long> ttls = new HashMap<>();
        calls.forEach((id, call) -> ttls.put(id, call.join().getTTL()));

        Map<ByteString, Since> since = new HashMap<>();
        Map<QueueView.Hold, Since> stillHolding = new HashMap<>();
        List<QueueView.Entry> holders = view.holders();
        for (QueueView.Entry holder : holders.subList(0, Math.min(holders.size(), MAX_SINCE_SEARCHES))) {
            QueueView.Hold id = holder.hold();
            Since s = found.get(id);
            if (s == null) {
                s = since(view, holder.kv(), revision);
            }
            stillHolding.put(id, s);
            since.put(holder.kv().getKey(), s);
        }
        found.clear();
        found.putAll(stillHolding);
        return new Snapshot(view, revision, Map.copyOf(ttls), Map.copyOf(since));
    }

    /** The first revision in [create revision, now] at which {@code holder} held; see the class comment. */
    private Since since(QueueView view, KeyValue holder, long now) {
        long created = holder.getCreateRevision();
        Map<Long, Probe> seen = new HashMap<>();
        long lo = created;
        long hi = now; // it holds at now: that is how the view was made
        while (lo < hi) {
            long mid = lo + (hi - lo) / 2;
            if (seen.computeIfAbsent(mid, r -> probe(view, holder, r)) == Probe.FREE) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        if (lo == created) {
            return new Since(lo, true);
        }
        // the revision before: blocked (exact) or compacted (we only know it held by lo)
        return new Since(lo, seen.computeIfAbsent(lo - 1, r -> probe(view, holder, r)) == Probe.BLOCKED);
    }

    private Probe probe(QueueView view, KeyValue holder, long revision) {
        ByteString readers = QueueView.readers(name);
        boolean reader = view.layout() == QueueView.Layout.READ_WRITE && holder.getKey().startsWith(readers);
        try {
            int blockers = earlierKeys(prefix, holder.getCreateRevision(), revision);
            if (reader) {
                blockers -= earlierKeys(readers, holder.getCreateRevision(), revision);
            }
            return blockers < view.permits() ? Probe.FREE : Probe.BLOCKED;
        } catch (RuntimeException e) {
            if (EtcdErrors.kind(e) == EtcdErrors.Kind.COMPACTED) {
                return Probe.COMPACTED;
            }
            throw e;
        }
    }

    private int earlierKeys(ByteString under, long createRevision, long atRevision) {
        return engine.kv().range(RangeRequest.newBuilder().setKey(under).setRangeEnd(Kv.prefixEnd(under))
                .setRevision(atRevision).setMaxCreateRevision(createRevision - 1).setKeysOnly(true).build())
                .join().getKvsCount();
    }
}
