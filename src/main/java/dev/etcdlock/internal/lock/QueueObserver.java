package dev.etcdlock.internal.lock;

import com.google.protobuf.ByteString;
import dev.etcdlock.ClientClosedException;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.SerialContext;
import dev.etcdlock.internal.kv.Kv;
import dev.etcdlock.internal.proto.Event;
import dev.etcdlock.internal.proto.KeyValue;
import dev.etcdlock.internal.proto.RangeRequest;
import dev.etcdlock.internal.proto.RangeResponse;
import dev.etcdlock.internal.transport.Backoff;
import dev.etcdlock.internal.transport.EtcdErrors;
import dev.etcdlock.internal.watch.WatchCompactedException;
import dev.etcdlock.internal.watch.WatchListener;
import dev.etcdlock.internal.watch.WatchMultiplexer;
import dev.etcdlock.internal.watch.WatchSpec;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A queue seen from beside the engine's acquisitions, over the client's one watch stream: its head (the key with the
 * lowest create revision, an election's leader), read once or followed, and a held key watched so that its holder
 * hears at once when the key goes. Followers keep their state in the client's serial context.
 *
 * <p>Both survive what the watch stream survives (broken streams, dead or silent members: the multiplexer resumes
 * from the next revision, nothing lost or repeated) and compaction: a watch whose history was compacted away is
 * replaced by a fresh read and a watch from that read's revision. Reads that fail because etcd is unreachable are
 * tried again with backoff for as long as the follower lives.
 */
public final class QueueObserver {
    private static final System.Logger LOG = System.getLogger(QueueObserver.class.getName());
    private static final long RETRY_MIN_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
    private static final long RETRY_MAX_NANOS = TimeUnit.SECONDS.toNanos(2);

    private final Kv kv;
    private final WatchMultiplexer watches;
    private final SerialContext context;

    public QueueObserver(Engine engine) {
        this.kv = engine.kv();
        this.watches = engine.watches();
        this.context = engine.transport().executor();
    }

    /** The head of the queue under {@code prefix}, or null when it is empty: one read, retried on other members. */
    public CompletableFuture<KeyValue> head(ByteString prefix) {
        return kv.range(RangeRequest.newBuilder().setKey(prefix).setRangeEnd(Kv.prefixEnd(prefix)).setLimit(1)
                        .setSortTarget(RangeRequest.SortTarget.CREATE).setSortOrder(RangeRequest.SortOrder.ASCEND)
                        .build())
                .thenApply(r -> r.getKvsCount() == 0 ? null : r.getKvs(0));
    }

    /** Receives the head of a followed queue. Called in the serial context, possibly on a Netty thread: never block. */
    public interface HeadListener {
        /**
         * The head changed: another key, or the same key with another value; null when the queue became empty. The
         * first call gives the head found by the first read (nothing when the queue is empty then).
         */
        void onHead(KeyValue head);

        /** Following ended for good: the client closed, or etcd refused the read or the watch. */
        void onError(Throwable error);
    }

    /** Follows the head of the queue under {@code prefix} until {@link Following#cancel()}. */
    public Following follow(ByteString prefix, HeadListener listener) {
        Following following = new Following(prefix, listener);
        following.post(following::read);
        return following;
    }

    /**
     * Tells {@code onGone} once when {@code held}'s key is deleted after it was seen to hold (its lease expired or
     * was revoked, or somebody deleted it), until the returned action cancels the watch. Shares the etcd watch of
     * the queue's waiters.
     */
    public Runnable watchHeld(LockQueue.Held held, Runnable onGone) {
        HeldKey watch = new HeldKey(held, onGone);
        watch.subscribe(held.acquiredRevision());
        return watch::cancel;
    }

    private static boolean worthRetrying(Throwable failure) {
        EtcdErrors.Kind kind = EtcdErrors.kind(failure);
        return kind == EtcdErrors.Kind.UNAVAILABLE || kind == EtcdErrors.Kind.NOT_EXECUTED
                || kind == EtcdErrors.Kind.FUTURE_REVISION;
    }

    /** One follower of a queue's head. */
    public final class Following implements WatchListener {
        private final ByteString prefix;
        private final HeadListener listener;
        private final Backoff backoff = new Backoff(RETRY_MIN_NANOS, RETRY_MAX_NANOS);
        private volatile boolean cancelled;
        // serial context only
        /** Every key of the queue by create revision, and each key's create revision (delete events carry none). */
        private final TreeMap<Long, KeyValue> byCreate = new TreeMap<>();
        private final Map<ByteString, Long> createOf = new HashMap<>();
        private KeyValue reported;
        private WatchMultiplexer.Subscription subscription;

        Following(ByteString prefix, HeadListener listener) {
            this.prefix = prefix;
            this.listener = listener;
        }

        /** Stops following; no callback runs after the cancel has run in the serial context. Any thread. */
        public void cancel() {
            cancelled = true;
            post(() -> {
                if (subscription != null) {
                    subscription.cancel();
                    subscription = null;
                }
            });
        }

        private void post(Runnable task) {
            context.execute(task);
        }

        /** The whole queue, then every event after the read's revision. */
        private void read() {
            if (cancelled) {
                return;
            }
            kv.range(RangeRequest.newBuilder().setKey(prefix).setRangeEnd(Kv.prefixEnd(prefix)).build())
                    .whenCompleteAsync(this::readDone, context);
        }

        private void readDone(RangeResponse response, Throwable failure) {
            if (cancelled) {
                return;
            }
            if (failure != null) {
                if (worthRetrying(failure)) {
                    LOG.log(System.Logger.Level.DEBUG, () -> "reading " + prefix.toStringUtf8() + " failed, will "
                            + "retry: " + failure);
                    // after the client's close this runs at once, and the read fails as closed: onError below
                    context.schedule(this::read, backoff.nextDelayNanos(), TimeUnit.NANOSECONDS);
                } else {
                    cancelled = true;
                    listener.onError(EtcdErrors.unwrap(failure));
                }
                return;
            }
            backoff.reset();
            byCreate.clear();
            createOf.clear();
            for (KeyValue kv : response.getKvsList()) {
                byCreate.put(kv.getCreateRevision(), kv);
                createOf.put(kv.getKey(), kv.getCreateRevision());
            }
            reportIfChanged();
            subscription = watches.subscribe(WatchSpec.prefix(prefix), response.getHeader().getRevision(), this);
        }

        @Override
        public void onEvents(List<Event> events) {
            for (Event e : events) {
                if (cancelled) {
                    return;
                }
                KeyValue kv = e.getKv();
                Long was = createOf.remove(kv.getKey());
                if (was != null) {
                    byCreate.remove(was);
                }
                if (e.getType() == Event.EventType.PUT) {
                    byCreate.put(kv.getCreateRevision(), kv);
                    createOf.put(kv.getKey(), kv.getCreateRevision());
                }
                // each revision's head, not only each batch's: observers see every leader etcd had
                reportIfChanged();
            }
        }

        @Override
        public void onError(Throwable error) {
            subscription = null;
            if (cancelled) {
                return;
            }
            if (error instanceof WatchCompactedException) {
                read();
            } else {
                cancelled = true;
                listener.onError(error);
            }
        }

        private void reportIfChanged() {
            Map.Entry<Long, KeyValue> first = byCreate.firstEntry();
            KeyValue head = first == null ? null : first.getValue();
            if (head == null ? reported == null : reported != null && head.getKey().equals(reported.getKey())
                    && head.getCreateRevision() == reported.getCreateRevision()
                    && head.getValue().equals(reported.getValue())) {
                return;
            }
            reported = head;
            listener.onHead(head);
        }
    }

    /** The watch on a held key; see {@link #watchHeld}. */
    private final class HeldKey implements WatchListener {
        private final LockQueue.Held held;
        private final Runnable onGone;
        private final Backoff backoff = new Backoff(RETRY_MIN_NANOS, RETRY_MAX_NANOS);
        private volatile boolean ended;
        private volatile WatchMultiplexer.Subscription subscription;

        HeldKey(LockQueue.Held held, Runnable onGone) {
            this.held = held;
            this.onGone = onGone;
        }

        void subscribe(long afterRevision) {
            // the same spec as the queue's waiters: joins their etcd watch, which lingers after the last wait
            subscription = watches.subscribe(WatchSpec.prefix(held.prefix()).deletesOnly(), afterRevision, this);
            if (ended) { // cancelled meanwhile
                subscription.cancel();
            }
        }

        void cancel() {
            ended = true;
            WatchMultiplexer.Subscription s = subscription;
            if (s != null) {
                s.cancel();
            }
        }

        @Override
        public void onEvents(List<Event> events) {
            for (Event e : events) {
                if (e.getKv().getKey().equals(held.key())) {
                    gone();
                    return;
                }
            }
        }

        @Override
        public void onError(Throwable error) {
            if (ended) {
                return;
            }
            if (error instanceof WatchCompactedException) {
                recheck();
            } else {
                // the client closed (its leases are revoked, which the holder hears of) or etcd cancelled the watch
                LOG.log(System.Logger.Level.DEBUG, () -> "watch on " + held.key().toStringUtf8() + " ended: "
                        + error);
            }
        }

        /** After compaction: is the key still the one created at the token? Then watch again from this read. */
        private void recheck() {
            kv.range(RangeRequest.newBuilder().setKey(held.key()).build()).whenCompleteAsync((r, failure) -> {
                if (ended) {
                    return;
                }
                if (failure != null) {
                    if (worthRetrying(failure)) {
                        context.schedule(this::recheck, backoff.nextDelayNanos(), TimeUnit.NANOSECONDS);
                    }
                    return;
                }
                if (r.getKvsCount() == 0 || r.getKvs(0).getCreateRevision() != held.createRevision()) {
                    gone();
                } else {
                    subscribe(r.getHeader().getRevision());
                }
            }, context);
        }

        private void gone() {
            if (!ended) {
                cancel();
                onGone.run();
            }
        }
    }
}
