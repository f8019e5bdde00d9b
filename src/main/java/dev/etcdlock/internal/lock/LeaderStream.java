package dev.etcdlock.internal.lock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.proto.KeyValue;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;

/**
 * {@code Election.observe()}: each subscription follows the election's leader on the client's shared watch stream
 * and hands the leaders to its subscriber on {@code executor}, one signal at a time, in order. While the subscriber
 * has no demand, only the newest leader is kept: it gets that one when it asks again, never a stale backlog.
 */
public final class LeaderStream<T> implements Flow.Publisher<T> {
    private final QueueObserver observer;
    private final ByteString prefix;
    private final Executor executor;
    private final Function<KeyValue, T> toLeader;

    /** @param toLeader what subscribers get for a leader key; it must not block */
    public LeaderStream(QueueObserver observer, ByteString prefix, Executor executor, Function<KeyValue, T> toLeader) {
        this.toLeader = toLeader;
        this.observer = observer;
        this.prefix = prefix;
        this.executor = executor;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super T> subscriber) {
        Objects.requireNonNull(subscriber, "subscriber");
        Following following = new Following(subscriber);
        subscriber.onSubscribe(following);
        following.start();
    }

    private final class Following implements Flow.Subscription, QueueObserver.HeadListener {
        private final Flow.Subscriber<? super T> subscriber;
        /** Leaders not delivered yet, oldest first; trimmed to the newest while there is no demand. */
        private final ConcurrentLinkedQueue<T> undelivered = new ConcurrentLinkedQueue<>();
        private final AtomicInteger undeliveredCount = new AtomicInteger();
        private final AtomicLong demand = new AtomicLong();
        /** Drain requests not yet seen by the draining task: the task runs while this is above zero. */
        private final AtomicInteger pending = new AtomicInteger();
        private volatile Throwable error;
        private volatile boolean cancelled;
        private volatile QueueObserver.Following head;

        Following(Flow.Subscriber<? super T> subscriber) {
            this.subscriber = subscriber;
        }

        void start() {
            if (cancelled) {
                return;
            }
            head = observer.follow(prefix, this);
            if (cancelled) { // cancelled while it started
                head.cancel();
            }
        }

        @Override
        public void request(long n) {
            if (n <= 0) {
                fail(new IllegalArgumentException("request(" + n + "): demand must be positive (Reactive Streams "
                        + "rule 3.9)"));
                return;
            }
            demand.getAndUpdate(d -> d + n < 0 ? Long.MAX_VALUE : d + n);
            drain();
        }

        @Override
        public void cancel() {
            cancelled = true;
            QueueObserver.Following h = head;
            if (h != null) {
                h.cancel();
            }
        }

        @Override
        public void onHead(KeyValue kv) {
            if (kv == null) { // as Go's Observe: leaders only, the queue becoming empty is not news
                return;
            }
            undelivered.add(toLeader.apply(kv));
            undeliveredCount.incrementAndGet();
            if (demand.get() == 0) {
                // nobody asked: what was not delivered is stale. Polls race only with a delivery, which also takes
                // the oldest first, so the order holds and the newest stays.
                while (undeliveredCount.get() > 1 && undelivered.poll() != null) {
                    undeliveredCount.decrementAndGet();
                }
            }
            drain();
        }

        @Override
        public void onError(Throwable failure) {
            fail(failure);
        }

        private void fail(Throwable failure) {
            if (error == null) {
                error = failure;
            }
            drain();
        }

        private void drain() {
            if (pending.getAndIncrement() == 0) {
                executor.execute(this::deliver);
            }
        }

        /** One task at a time (see {@link #pending}), so the subscriber's signals never overlap. */
        private void deliver() {
            int seen = 1;
            while (true) {
                if (cancelled) {
                    return;
                }
                while (demand.get() > 0 && !cancelled) {
                    T next = undelivered.poll();
                    if (next == null) {
                        break;
                    }
                    undeliveredCount.decrementAndGet();
                    demand.getAndUpdate(d -> d == Long.MAX_VALUE ? d : d - 1);
                    try {
                        subscriber.onNext(next);
                    } catch (RuntimeException e) {
                        cancel(); // Reactive Streams rule 2.13: a subscriber that throws is cancelled
                        throw e;
                    }
                }
                Throwable failure = error;
                if (failure != null) {
                    cancel();
                    subscriber.onError(failure);
                    return;
                }
                seen = pending.addAndGet(-seen);
                if (seen == 0) {
                    return;
                }
            }
        }
    }
}
