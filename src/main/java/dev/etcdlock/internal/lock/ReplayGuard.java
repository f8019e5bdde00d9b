package dev.etcdlock.internal.lock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.SerialContext;
import dev.etcdlock.internal.kv.Kv;
import dev.etcdlock.internal.proto.Compare;
import dev.etcdlock.internal.proto.DeleteRangeRequest;
import dev.etcdlock.internal.proto.Event;
import dev.etcdlock.internal.proto.KeyValue;
import dev.etcdlock.internal.proto.RangeRequest;
import dev.etcdlock.internal.proto.RequestOp;
import dev.etcdlock.internal.proto.TxnRequest;
import dev.etcdlock.internal.watch.WatchListener;
import dev.etcdlock.internal.watch.WatchMultiplexer;
import dev.etcdlock.internal.watch.WatchSpec;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Removes a waiter key that a member created from an enqueue request the client had already given up on.
 *
 * <p>A member that is frozen (SIGSTOP, a long pause) with the request in its socket buffer executes it when it
 * wakes, by which time the client has retried elsewhere, perhaps taken the lock and released it. The request's
 * {@code create_revision == 0} guard then holds again, and the key comes back with the attempt's nonce, attached to
 * the session's live lease: it would hold or block the name until the session ends. So after an enqueue during which
 * the transport abandoned an attempt, the key is watched for a while; a version carrying this attempt's nonce that
 * is not the one the attempt created is deleted, guarded by the nonce, so nothing but that late copy can go.
 */
final class ReplayGuard implements WatchListener {
    private static final System.Logger LOG = System.getLogger(ReplayGuard.class.getName());
    /** Long beyond any pause a lock could survive; a member frozen longer has lost its place in the cluster anyway. */
    static final Duration WINDOW = Duration.ofMinutes(2);

    private final Kv kv;
    private final ByteString key;
    private final ByteString nonce;
    private final long ownCreateRevision; // 0: the attempt never learned it created the key
    private WatchMultiplexer.Subscription subscription;
    private boolean stopped;

    private ReplayGuard(Kv kv, ByteString key, ByteString nonce, long ownCreateRevision) {
        this.kv = kv;
        this.key = key;
        this.nonce = nonce;
        this.ownCreateRevision = ownCreateRevision;
    }

    /**
     * Guards {@code key}: after {@code afterRevision} when the enqueue's answer is known (its header revision and the
     * key's create revision, 0 if it did not create it), or from a fresh read when it is not ({@code afterRevision}
     * 0), deleting what a late copy already put. Call in the serial context.
     */
    static void start(Kv kv, WatchMultiplexer watches, SerialContext context, ByteString key, ByteString nonce,
            long afterRevision, long ownCreateRevision) {
        ReplayGuard guard = new ReplayGuard(kv, key, nonce, ownCreateRevision);
        if (afterRevision > 0) {
            guard.watch(watches, context, afterRevision);
            return;
        }
        kv.range(RangeRequest.newBuilder().setKey(key).build()).whenCompleteAsync((r, failure) -> {
            if (failure != null) {
                return; // etcd unreachable: nothing to compare with; the attempt's own cleanup is still on its way
            }
            guard.onVersions(r.getKvsList());
            guard.watch(watches, context, r.getHeader().getRevision());
        }, context);
    }

    private void watch(WatchMultiplexer watches, SerialContext context, long afterRevision) {
        subscription = watches.subscribe(WatchSpec.key(key), afterRevision, this);
        context.schedule(this::stop, WINDOW.toNanos(), TimeUnit.NANOSECONDS);
    }

    @Override
    public void onEvents(List<Event> events) {
        for (Event e : events) {
            if (e.getType() == Event.EventType.PUT) {
                onVersions(List.of(e.getKv()));
            }
        }
    }

    private void onVersions(List<KeyValue> versions) {
        for (KeyValue kv : versions) {
            if (!stopped && kv.getValue().equals(nonce) && kv.getCreateRevision() != ownCreateRevision) {
                LOG.log(System.Logger.Level.INFO, () -> "removing " + key.toStringUtf8() + ", created at revision "
                        + kv.getCreateRevision() + " by a request this client had given up on (a member that did not"
                        + " answer executed it later)");
                deleteLateCopy();
            }
        }
    }

    private void deleteLateCopy() {
        kv.idempotentTxn(TxnRequest.newBuilder()
                .addCompare(Compare.newBuilder().setKey(key).setTarget(Compare.CompareTarget.VALUE)
                        .setResult(Compare.CompareResult.EQUAL).setValue(nonce))
                .addSuccess(RequestOp.newBuilder().setRequestDeleteRange(DeleteRangeRequest.newBuilder().setKey(key)))
                .build());
    }

    @Override
    public void onError(Throwable error) {
        subscription = null; // compacted or closed: the window's events are gone; the lease bounds what is left
    }

    private void stop() {
        stopped = true;
        if (subscription != null) {
            subscription.cancel();
            subscription = null;
        }
    }
}
