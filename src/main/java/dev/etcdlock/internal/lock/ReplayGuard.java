package dev.etcdlock.internal.lock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.SerialContext;
import dev.etcdlock.internal.kv.Kv;
import dev.etcdlock.internal.proto.Event;
import dev.etcdlock.internal.proto.KeyValue;
import dev.etcdlock.internal.proto.RangeRequest;
import dev.etcdlock.internal.watch.WatchListener;
import dev.etcdlock.internal.watch.WatchMultiplexer;
import dev.etcdlock.internal.watch.WatchSpec;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Removes a waiter key that a member created from an enqueue request whose outcome the client never learned.
 *
 * <p>A member that is frozen (SIGSTOP, a long pause) with the request in its socket buffer executes it when it
 * wakes, by which time the client has retried elsewhere or given up, perhaps taken the lock and released it. The
 * request's {@code create_revision == 0} guard then holds again, and the key comes back attached to the session's
 * live lease, with the attempt's nonce or with the recipe's value (a semaphore's count, an election's candidate): it
 * would hold or block the name until the session ends. So after every enqueue whose outcome is unknown (no answer,
 * or an attempt the transport abandoned on a silent member), the key is watched for a while, and every version
 * created with this session's lease that no live attempt of the session owns ({@link KeyJanitor#judge}) is deleted,
 * guarded by its create revision, so nothing but that late copy can go.
 */
final class ReplayGuard implements WatchListener {
    /** Long beyond any pause a lock could survive; a member frozen longer has lost its place in the cluster anyway. */
    static final Duration WINDOW = Duration.ofMinutes(2);

    private final KeyJanitor janitor;
    private final ByteString key;
    private final long leaseId;
    private WatchMultiplexer.Subscription subscription;
    private boolean stopped;

    private ReplayGuard(KeyJanitor janitor, ByteString key, long leaseId) {
        this.janitor = janitor;
        this.key = key;
        this.leaseId = leaseId;
    }

    /**
     * Guards {@code key} of the session whose lease is {@code leaseId}: from a fresh read (which judges what a late
     * copy already put), then every version after it. Call in the serial context.
     */
    static void start(Kv kv, WatchMultiplexer watches, SerialContext context, KeyJanitor janitor, ByteString key,
            long leaseId) {
        ReplayGuard guard = new ReplayGuard(janitor, key, leaseId);
        janitor.guardStarted(key);
        context.schedule(guard::stop, WINDOW.toNanos(), TimeUnit.NANOSECONDS);
        guard.read(kv, watches, context);
    }

    private void read(Kv kv, WatchMultiplexer watches, SerialContext context) {
        kv.range(RangeRequest.newBuilder().setKey(key).build()).whenCompleteAsync((r, failure) -> {
            if (stopped) {
                return;
            }
            if (failure != null) { // etcd unreachable: read again, the window bounds it
                if (context.isShutdown()) {
                    stop();
                    return;
                }
                context.schedule(() -> read(kv, watches, context), KeyJanitor.RETRY_MAX_NANOS, TimeUnit.NANOSECONDS);
                return;
            }
            onVersions(r.getKvsList());
            subscription = watches.subscribe(WatchSpec.key(key), r.getHeader().getRevision(), this);
        }, context);
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
            // only a new version: a proclaim rewrites the value of the version an attempt owns
            if (!stopped && kv.getLease() == leaseId && kv.getVersion() == 1) {
                janitor.judge(key, kv.getCreateRevision());
            }
        }
    }

    @Override
    public void onError(Throwable error) {
        subscription = null; // compacted or closed: the window's events are gone; the lease bounds what is left
    }

    private void stop() {
        if (stopped) {
            return;
        }
        stopped = true;
        janitor.guardEnded(key);
        if (subscription != null) {
            subscription.cancel();
            subscription = null;
        }
    }
}
