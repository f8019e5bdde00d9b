package dev.etcdlock.internal.cli;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.SerialContext;
import dev.etcdlock.internal.kv.Kv;
import dev.etcdlock.internal.proto.Event;
import dev.etcdlock.internal.proto.KeyValue;
import dev.etcdlock.internal.proto.RangeRequest;
import dev.etcdlock.internal.watch.WatchListener;
import dev.etcdlock.internal.watch.WatchMultiplexer;
import dev.etcdlock.internal.watch.WatchSpec;
import java.io.PrintStream;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * {@code lock --wait-progress}: one line on the terminal, redrawn in place with {@code \r}, telling the place in
 * line and the time waited while {@code lock} waits.
 *
 * <p>It knows the waiter's key without asking the lock engine, because the key is {@code <name>/<session lease id
 * in hex>} (the Mutex's layout); its place is the number of keys under the name created before it. One Range, then
 * one watch on the prefix keeps the keys' create revisions current; between events the line is only redrawn once a
 * second for the time waited, with no reads. Runs on its own engine (a second connection to etcd), so the lock's
 * client is not touched; its state lives in that engine's serial context.
 */
final class WaitProgress implements AutoCloseable {
    static final Duration REDRAW_EVERY = Duration.ofSeconds(1);

    private final Engine engine;
    private final SerialContext context;
    private final String name;
    private final ByteString ownKey;
    private final PrintStream err;
    private final LongSupplier nanoTime;
    private final long startNanos;

    // serial context only
    private final Map<ByteString, Long> createRevisions = new HashMap<>();
    private boolean known;
    private boolean stopped;
    private int lastWidth;
    private WatchMultiplexer.Subscription subscription;
    private ScheduledFuture<?> redraw;

    private WaitProgress(Engine engine, String name, long leaseId, PrintStream err, LongSupplier nanoTime) {
        this.engine = engine;
        this.context = engine.transport().executor();
        this.name = name;
        this.ownKey = ByteString.copyFromUtf8(name + "/" + Long.toHexString(leaseId));
        this.err = err;
        this.nanoTime = nanoTime;
        this.startNanos = nanoTime.getAsLong();
    }

    /**
     * Starts following the queue of {@code name} for the waiter of session lease {@code leaseId}; the engine is
     * closed with this.
     */
    static WaitProgress start(Engine engine, String name, long leaseId, PrintStream err) {
        WaitProgress progress = new WaitProgress(engine, name, leaseId, err, System::nanoTime);
        ByteString prefix = ByteString.copyFromUtf8(name + "/");
        engine.kv().range(RangeRequest.newBuilder().setKey(prefix).setRangeEnd(Kv.prefixEnd(prefix))
                .setKeysOnly(true).build()).whenCompleteAsync((range, failure) -> {
                    if (failure != null || progress.stopped) {
                        return; // no progress line then; the lock itself reports what matters
                    }
                    for (KeyValue kv : range.getKvsList()) {
                        progress.createRevisions.put(kv.getKey(), kv.getCreateRevision());
                    }
                    progress.known = true;
                    progress.subscription = engine.watches().subscribe(WatchSpec.prefix(prefix),
                            range.getHeader().getRevision(), progress.listener());
                    progress.draw();
                }, progress.context);
        return progress;
    }

    private WatchListener listener() {
        return new WatchListener() {
            @Override
            public void onEvents(List<Event> events) {
                for (Event e : events) {
                    if (e.getType() == Event.EventType.DELETE) {
                        createRevisions.remove(e.getKv().getKey());
                    } else {
                        createRevisions.put(e.getKv().getKey(), e.getKv().getCreateRevision());
                    }
                }
                draw();
            }

            @Override
            public void onError(Throwable error) {
                // compaction or a closed client: keep showing the time waited, the place is no longer followed
            }
        };
    }

    /** The line as it stands; in the serial context. */
    String text() {
        String waited = "waited " + (nanoTime.getAsLong() - startNanos) / 1_000_000_000L + " s";
        Long own = createRevisions.get(ownKey);
        if (!known || own == null) {
            return "waiting for " + name + ": queuing, " + waited;
        }
        int ahead = 0;
        ByteString next = null;
        long nextRevision = 0;
        for (Map.Entry<ByteString, Long> e : createRevisions.entrySet()) {
            if (e.getValue() < own) {
                ahead++;
                if (e.getValue() > nextRevision) {
                    nextRevision = e.getValue();
                    next = e.getKey();
                }
            }
        }
        if (ahead == 0) {
            return "waiting for " + name + ": first in line, acquiring, " + waited;
        }
        return "waiting for " + name + ": position " + ahead + " (" + ahead + (ahead == 1 ? " key" : " keys")
                + " ahead, behind " + next.toStringUtf8() + "), " + waited;
    }

    private void draw() {
        if (stopped || context.isShutdown()) { // a closed client's context runs a redraw at once: no loop
            return;
        }
        String text = text();
        err.print("\r" + text + " ".repeat(Math.max(0, lastWidth - text.length())));
        err.flush();
        lastWidth = text.length();
        if (redraw != null) {
            redraw.cancel(false);
        }
        redraw = context.schedule(this::draw, REDRAW_EVERY.toMillis(), TimeUnit.MILLISECONDS);
    }

    /**
     * Stops redrawing and clears the line; with {@code acquired}, leaves a last line telling how long the wait was.
     * Returns once nothing more will be printed.
     */
    void stop(boolean acquired) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            context.execute(() -> {
                if (!stopped) {
                    stopped = true;
                    if (redraw != null) {
                        redraw.cancel(false);
                    }
                    if (subscription != null) {
                        subscription.cancel();
                    }
                    if (lastWidth > 0) {
                        String last = acquired ? name + ": acquired after " + Durations.format(Duration.ofMillis(
                                (nanoTime.getAsLong() - startNanos) / 1_000_000)) : "";
                        err.print("\r" + last + " ".repeat(Math.max(0, lastWidth - last.length()))
                                + (acquired ? "\n" : "\r"));
                        err.flush();
                    }
                }
                done.complete(null);
            });
            done.get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            // the engine is closing or its context is stuck: nothing useful left to print
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void close() {
        stop(false);
        engine.close();
    }
}
