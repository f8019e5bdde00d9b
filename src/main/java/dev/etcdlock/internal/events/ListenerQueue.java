package dev.etcdlock.internal.events;

import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * Runs one client's listener calls one at a time, in the order they were submitted, on threads of a pool shared by
 * every client in the JVM, so that the engine only ever enqueues. A listener that blocks holds up its own client's
 * later calls, never lock operations nor another client's listener; its backlog is bounded by {@link #CAPACITY}, past
 * which calls are dropped, except a loss ({@link #executeAlways}): one per hold at most, and the one call a listener
 * must never miss. A call that throws is logged, at WARNING at most once a minute per client, and the next
 * call runs as usual.
 */
final class ListenerQueue implements Executor {
    private static final System.Logger LOG = System.getLogger(ListenerQueue.class.getName());
    /** Calls waiting at most: about a megabyte of small tasks, many minutes of lock traffic for one client. */
    static final int CAPACITY = 10_000;
    /** Calls run per turn on a pool thread before it is handed back, so one busy client does not keep a thread. */
    private static final int BATCH = 64;
    private static final long WARN_EVERY_NANOS = TimeUnit.MINUTES.toNanos(1);
    private static final Executor POOL = pool();

    private final String owner;
    private final ConcurrentLinkedQueue<Runnable> calls = new ConcurrentLinkedQueue<>();
    private final AtomicInteger size = new AtomicInteger();
    private final AtomicBoolean scheduled = new AtomicBoolean();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    /** When the last WARNING was logged, or 0 for never. */
    private final AtomicLong lastWarning = new AtomicLong();

    ListenerQueue(String owner) {
        this.owner = owner;
    }

    private static Executor pool() {
        // grows with the number of clients whose listener is busy at once; idle threads go after a minute
        return new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS, new SynchronousQueue<>(),
                runnable -> {
                    Thread t = new Thread(runnable, "etcd-lock-listener");
                    t.setDaemon(true);
                    return t;
                });
    }

    /** Queues the call; never blocks and never throws, dropping the call when the backlog is full. */
    @Override
    public void execute(Runnable call) {
        if (size.incrementAndGet() > CAPACITY) {
            size.decrementAndGet();
            long n = dropped.incrementAndGet();
            warn(() -> "the LockListener of " + owner + " is " + CAPACITY + " calls behind (blocked or slow); "
                    + n + " call(s) dropped so far (never a loss). Make the listener return quickly, handing slow "
                    + "work to an executor of its own");
            return;
        }
        enqueue(call);
    }

    /** Queues the call even past {@link #CAPACITY}: for losses, which a listener must hear of. */
    void executeAlways(Runnable call) {
        size.incrementAndGet();
        enqueue(call);
    }

    private void enqueue(Runnable call) {
        calls.add(call);
        if (scheduled.compareAndSet(false, true)) {
            POOL.execute(this::drain);
        }
    }

    /** Calls dropped because the backlog was full, for tests and diagnostics. */
    long dropped() {
        return dropped.get();
    }

    private void drain() {
        try {
            for (int i = 0; i < BATCH; i++) {
                Runnable call = calls.poll();
                if (call == null) {
                    break;
                }
                size.decrementAndGet();
                try {
                    call.run();
                } catch (RuntimeException | Error e) {
                    if (e instanceof VirtualMachineError) {
                        throw e;
                    }
                    long n = failures.incrementAndGet();
                    warn(() -> "the LockListener of " + owner + " threw " + e + " (" + n + " failure(s) so far; "
                            + "the lock operations are not affected). Catch exceptions in the listener");
                    LOG.log(System.Logger.Level.DEBUG, "LockListener failure", e);
                }
            }
        } finally {
            // also after a VirtualMachineError (a listener's StackOverflowError): left set, no drain would run again
            scheduled.set(false);
            // a call added after the last poll saw scheduled still set, so nobody else will run it
            if (!calls.isEmpty() && scheduled.compareAndSet(false, true)) {
                POOL.execute(this::drain);
            }
        }
    }

    private void warn(Supplier<String> message) {
        long now = System.nanoTime();
        long last = lastWarning.get();
        boolean due = last == 0 || now - last >= WARN_EVERY_NANOS;
        if (due && lastWarning.compareAndSet(last, now == 0 ? 1 : now)) {
            LOG.log(System.Logger.Level.WARNING, message);
        } else {
            LOG.log(System.Logger.Level.DEBUG, message);
        }
    }
}
