package dev.etcdlock.internal.watch;

import dev.etcdlock.ClientClosedException;
import dev.etcdlock.internal.SerialContext;
import dev.etcdlock.internal.Ticker;
import dev.etcdlock.internal.events.JfrEvents;
import dev.etcdlock.internal.proto.Event;
import dev.etcdlock.internal.proto.WatchCancelRequest;
import dev.etcdlock.internal.proto.WatchCreateRequest;
import dev.etcdlock.internal.proto.WatchGrpc;
import dev.etcdlock.internal.proto.WatchRequest;
import dev.etcdlock.internal.proto.WatchResponse;
import dev.etcdlock.internal.transport.Backoff;
import dev.etcdlock.internal.transport.ContextStream;
import dev.etcdlock.internal.transport.EtcdErrors;
import dev.etcdlock.internal.transport.Transport;
import io.grpc.Status;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * All of a client's watches over one Watch stream.
 *
 * <p>Subscriptions to the same {@link WatchSpec} share one etcd watch, and a watch stays open for a while after its
 * last subscriber leaves. That keeps watch creation off the hot path: etcd serves a watch created at a past
 * revision from a catch-up loop that runs every 100 ms, so a lock that created a watch per wait would hand over at
 * most ten times a second. Each watch keeps a short history of its recent events, so a subscriber that asks for
 * events after a revision the watch has already passed is served from it instead of by a new watch.
 *
 * <p>When the stream breaks (member down, leader lost, network), it is reopened with backoff and every watch
 * resumes from the revision after the last one it delivered, so no event is lost or repeated. When that revision
 * was compacted, the subscribers get a {@link WatchCompactedException}.
 *
 * <p>A stream can also die without breaking: its member paused (SIGSTOP, a long GC) or cut off with the TCP
 * connection left open. gRPC's keep-alive notices that only after 15 s (a ping after 10 s without reads, 5 s for
 * its answer; etcd refuses pings more often than every 5 s), and until then waiters would not hear of the deletes
 * that free their locks. So while the stream carries a watch somebody listens to, a stream silent for
 * {@link #PROBE_AFTER_SILENCE} gets a probe: a watch created on the key of a watch the stream already carries, from
 * the current revision, and cancelled as soon as etcd confirms it, which etcd answers from the stream's own
 * goroutines, without raft or disk; when nothing at all
 * arrives within {@link #ANSWER_DEADLINE} of it, the stream is abandoned and its watches resume on a new one, as
 * after a break.
 *
 * <p>The probe is a watch rather than a progress request because etcd answers a progress request only while every
 * watcher of the stream is synced, and from 3.5.22 and 3.6.2 a watcher created at a revision not yet written (where
 * a waiter watches from: the revision after the one it read) stays unsynced until that revision is written; etcd
 * then defers the answer, for good on an idle stream, and a healthy stream would be abandoned every few seconds.
 * A create is answered whatever the other watchers do. Its key is one the user may read, because etcd 3.4 before
 * 3.4.8 stops reading a stream's requests after refusing a create.
 *
 * <p>State lives in the client's {@link SerialContext}; stream callbacks, timers and public methods run their work
 * there.
 */
public final class WatchMultiplexer {
    private static final System.Logger LOG = System.getLogger(WatchMultiplexer.class.getName());
    static final int HISTORY_LIMIT = 256;
    /**
     * Silence after which the stream is probed. Idle, that is one create and one cancel of a few bytes every 2 s per
     * client with a watch somebody listens to, answered by etcd from memory; a stream that carries events is not
     * probed at all.
     */
    static final Duration PROBE_AFTER_SILENCE = Duration.ofSeconds(2);
    /**
     * How long a probed (or newly opened) stream may stay silent before it is abandoned. etcd answers a create at
     * once, so this is one round trip plus room for a long GC pause on either side; a wrong guess costs
     * one resume, which loses nothing. With the probe interval, a dead member holds a waiter back 2-4 s.
     */
    static final Duration ANSWER_DEADLINE = Duration.ofSeconds(2);
    /** The watch id etcd puts on a progress notice for the whole stream (we send no progress requests). */
    private static final long STREAM_WIDE_WATCH_ID = -1;
    private static final long NONE = Long.MIN_VALUE;

    private enum State { CREATING, ACTIVE, RESUMING, CANCELLING, DEAD }

    private final Transport transport;
    private final SerialContext context;
    private final long lingerNanos;
    private final Backoff backoff = new Backoff(TimeUnit.MILLISECONDS.toNanos(50), TimeUnit.SECONDS.toNanos(2));
    private final Ticker ticker;
    private final AtomicInteger streamsOpened = new AtomicInteger();
    private final AtomicInteger watchesCreated = new AtomicInteger();
    private final AtomicInteger probes = new AtomicInteger();
    private final AtomicInteger streamsAbandoned = new AtomicInteger();

    // serial context only
    private final Map<WatchSpec, List<Watch>> bySpec = new HashMap<>();
    private final Map<Long, Watch> byId = new HashMap<>();
    private final ArrayDeque<Watch> awaitingCreated = new ArrayDeque<>();
    private ContextStream<WatchRequest> stream;
    private long lastWatchId;
    private boolean reopenScheduled;
    private boolean closed;
    /** When the current stream was opened. */
    private long streamOpenedNanos;
    /** When the current stream last delivered anything. */
    private long lastHeardNanos;
    /** Since when the current stream owes an answer (to a probe, or a new stream's creates), or NONE. */
    private long awaitingSinceNanos = NONE;
    private boolean answeredOnce; // by the current stream
    private ScheduledFuture<?> heartbeat;

    /** {@code ticker} must be the clock of the transport's serial context's delays. */
    public WatchMultiplexer(Transport transport, Duration linger, Ticker ticker) {
        this.transport = transport;
        this.context = transport.executor();
        this.lingerNanos = linger.toNanos();
        this.ticker = ticker;
    }

    /**
     * Subscribes to every event of {@code spec} with a revision greater than {@code afterRevision}. Joins an open
     * watch on the same spec when it can serve that revision, otherwise opens one.
     */
    public Subscription subscribe(WatchSpec spec, long afterRevision, WatchListener listener) {
        if (afterRevision < 0) {
            throw new IllegalArgumentException("afterRevision must be >= 0, was " + afterRevision);
        }
        Subscription subscription = new Subscription(spec, afterRevision, listener);
        context.execute(() -> attach(subscription)); // after close too: attach fails it as closed
        return subscription;
    }

    /** Number of Watch streams this multiplexer has opened, for tests and diagnostics. */
    public int streamsOpened() {
        return streamsOpened.get();
    }

    /** Number of etcd watches this multiplexer has asked for (re-creates after a stream break included). */
    public int watchesCreated() {
        return watchesCreated.get();
    }

    /** Number of probes sent to find out whether a silent stream still lives, for tests. */
    public int probes() {
        return probes.get();
    }

    /** Number of streams given up because they stayed silent after a probe, for tests. */
    public int streamsAbandoned() {
        return streamsAbandoned.get();
    }

    /**
     * Subscriptions not cancelled yet, over every watch, as counted in the serial context once the calls before it
     * have run: for tests that a long-lived client does not pile them up. Join it outside the serial context.
     */
    public CompletableFuture<Integer> subscriptions() {
        return CompletableFuture.supplyAsync(() -> bySpec.values().stream().flatMap(List::stream)
                .mapToInt(watch -> watch.subscribers.size()).sum(), context);
    }

    /** Ends every subscription with {@link ClientClosedException} and closes the stream. */
    public void close() {
        context.execute(() -> {
            if (closed) {
                return;
            }
            closed = true;
            ClientClosedException error = new ClientClosedException("the etcd-lock client is closed");
            for (List<Watch> watches : bySpec.values()) {
                for (Watch watch : watches) {
                    watch.fail(error);
                }
            }
            bySpec.clear();
            byId.clear();
            awaitingCreated.clear();
            stopHeartbeat();
            if (stream != null) {
                stream.cancel("etcd-lock client closed");
                stream = null;
            }
        });
    }

    /** A subscriber's place on a shared watch. */
    public final class Subscription {
        private final WatchSpec spec;
        private final long afterRevision;
        private final WatchListener listener;
        private final CompletableFuture<Void> ready = new CompletableFuture<>();
        private Watch watch; // serial context
        private volatile boolean ended;

        Subscription(WatchSpec spec, long afterRevision, WatchListener listener) {
            this.spec = spec;
            this.afterRevision = afterRevision;
            this.listener = listener;
        }

        /** Completes once etcd has confirmed a watch that delivers this subscription's events. */
        public CompletableFuture<Void> ready() {
            return ready;
        }

        /** Stops delivery; no callback runs after the cancel has run in the serial context. Idempotent. */
        public void cancel() {
            ended = true;
            context.execute(() -> {
                if (watch != null) {
                    watch.remove(this);
                    watch = null;
                }
            });
        }

        void deliver(List<Event> events) {
            if (ended) {
                return;
            }
            List<Event> wanted = events;
            if (events.get(0).getKv().getModRevision() <= afterRevision) {
                wanted = new ArrayList<>(events.size());
                for (Event e : events) {
                    if (e.getKv().getModRevision() > afterRevision) {
                        wanted.add(e);
                    }
                }
                if (wanted.isEmpty()) {
                    return;
                }
            }
            try {
                listener.onEvents(wanted);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "watch listener failed", e);
            }
        }

        void fail(Throwable error) {
            if (ended) {
                return;
            }
            ended = true;
            ready.completeExceptionally(error);
            try {
                listener.onError(error);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "watch listener failed", e);
            }
        }
    }

    /** One etcd watch and the subscriptions it serves. */
    private final class Watch {
        final WatchSpec spec;
        final List<Subscription> subscribers = new ArrayList<>(2);
        /** Recent events, every one with a revision in [historyFrom, nextRevision). */
        final ArrayDeque<Event> history = new ArrayDeque<>();
        long historyFrom;
        /** The first revision not delivered yet: where the watch resumes after a stream break. */
        long nextRevision;
        long id;
        State state = State.CREATING;
        boolean confirmed;
        ScheduledFuture<?> linger;

        Watch(WatchSpec spec, long startRevision) {
            this.spec = spec;
            this.nextRevision = startRevision;
            this.historyFrom = startRevision;
        }

        boolean serves(long afterRevision) {
            return (state == State.CREATING || state == State.ACTIVE || state == State.RESUMING)
                    && historyFrom <= afterRevision + 1;
        }

        void add(Subscription s) {
            if (linger != null) {
                linger.cancel(false);
                linger = null;
            }
            subscribers.add(s);
            s.watch = this;
            if (nextRevision > s.afterRevision + 1 && !history.isEmpty()) {
                s.deliver(List.copyOf(history));
            }
            if (confirmed) {
                s.ready.complete(null);
            }
        }

        void remove(Subscription s) {
            subscribers.remove(s);
            if (subscribers.isEmpty() && state != State.DEAD && state != State.CANCELLING) {
                linger = context.schedule(this::lingerExpired, lingerNanos, TimeUnit.NANOSECONDS);
            }
        }

        void lingerExpired() {
            linger = null;
            if (!subscribers.isEmpty()) {
                return;
            }
            if (state == State.ACTIVE && stream != null) {
                state = State.CANCELLING;
                detach();
                stream.send(WatchRequest.newBuilder()
                        .setCancelRequest(WatchCancelRequest.newBuilder().setWatchId(id)).build());
            } else if (state == State.RESUMING) {
                state = State.DEAD;
                detach();
            } else if (state == State.CREATING) {
                linger = context.schedule(this::lingerExpired, lingerNanos, TimeUnit.NANOSECONDS);
            }
        }

        /** No new subscriber can join; the id stays routed until etcd confirms the cancel. */
        void detach() {
            List<Watch> same = bySpec.get(spec);
            if (same != null) {
                same.remove(this);
                if (same.isEmpty()) {
                    bySpec.remove(spec);
                }
            }
        }

        void onEvents(List<Event> events) {
            for (Event e : events) {
                history.addLast(e);
            }
            while (history.size() > HISTORY_LIMIT) {
                historyFrom = history.removeFirst().getKv().getModRevision() + 1;
            }
            nextRevision = events.get(events.size() - 1).getKv().getModRevision() + 1;
            for (Subscription s : List.copyOf(subscribers)) {
                s.deliver(events);
            }
        }

        void onProgress(long revision) {
            if (revision + 1 > nextRevision) {
                if (history.isEmpty()) {
                    historyFrom = revision + 1;
                }
                nextRevision = revision + 1;
            }
        }

        void confirmed() {
            state = State.ACTIVE;
            if (!confirmed) {
                confirmed = true;
                for (Subscription s : subscribers) {
                    s.ready.complete(null);
                }
            }
        }

        /** etcd no longer has the events from {@code nextRevision}: only subscribers that wanted them lost them. */
        void compacted(long compactRevision) {
            state = State.DEAD;
            if (linger != null) {
                linger.cancel(false);
            }
            List<Subscription> all = List.copyOf(subscribers);
            subscribers.clear();
            for (Subscription s : all) {
                s.watch = null;
                if (s.afterRevision + 1 < compactRevision) {
                    s.fail(new WatchCompactedException(compactRevision, s.afterRevision + 1));
                } else {
                    attach(s); // on a new watch from its own start revision, which etcd still has
                }
            }
        }

        /**
         * Where to resume after a stream break: the next revision not delivered, or later when every subscriber
         * starts later (an idle shared watch's resume point only moves with events and rare progress notices).
         */
        long resumeRevision() {
            long start = Long.MAX_VALUE;
            for (Subscription s : subscribers) {
                start = Math.min(start, s.afterRevision + 1);
            }
            if (start != Long.MAX_VALUE && start > nextRevision) {
                history.clear();
                historyFrom = start;
                nextRevision = start;
            }
            return nextRevision;
        }

        void fail(Throwable error) {
            state = State.DEAD;
            if (linger != null) {
                linger.cancel(false);
            }
            for (Subscription s : List.copyOf(subscribers)) {
                s.fail(error);
            }
            subscribers.clear();
        }
    }

    // ---- in the serial context from here on ----

    private void attach(Subscription s) {
        if (s.ended) {
            return;
        }
        if (closed) {
            s.fail(new ClientClosedException("the etcd-lock client is closed"));
            return;
        }
        List<Watch> watches = bySpec.computeIfAbsent(s.spec, k -> new ArrayList<>(1));
        for (Watch watch : watches) {
            if (watch.serves(s.afterRevision)) {
                watch.add(s);
                startHeartbeat(); // a lingering watch may have been all the stream had: nobody listened
                return;
            }
        }
        Watch watch = new Watch(s.spec, s.afterRevision + 1);
        watches.add(watch);
        watch.add(s);
        if (stream == null) {
            openStream();
        } else {
            sendCreate(watch);
            startHeartbeat();
        }
    }

    private void openStream() {
        if (closed || reopenScheduled) {
            return;
        }
        stream = transport.openStream(WatchGrpc.getWatchMethod(), this::onResponse, this::onStreamBroken);
        streamsOpened.incrementAndGet();
        awaitingCreated.clear();
        byId.clear();
        for (List<Watch> watches : bySpec.values()) {
            for (Watch watch : watches) {
                sendCreate(watch);
            }
        }
        // the creates are this stream's first probe: a member that takes them and says nothing is as dead
        lastHeardNanos = ticker.nanoTime();
        streamOpenedNanos = lastHeardNanos;
        awaitingSinceNanos = lastHeardNanos;
        answeredOnce = false;
        stopHeartbeat();
        startHeartbeat();
    }

    private void sendCreate(Watch watch) {
        watch.id = ++lastWatchId;
        watchesCreated.incrementAndGet();
        watch.state = watch.confirmed ? State.RESUMING : State.CREATING;
        byId.put(watch.id, watch);
        awaitingCreated.addLast(watch);
        WatchCreateRequest.Builder create = WatchCreateRequest.newBuilder()
                .setKey(watch.spec.key())
                .setRangeEnd(watch.spec.rangeEnd())
                .setStartRevision(watch.confirmed ? watch.resumeRevision() : watch.nextRevision)
                .setProgressNotify(true) // lets an idle watch's resume point advance past future compactions
                .setWatchId(watch.id);
        if (watch.spec.noPut()) {
            create.addFilters(WatchCreateRequest.FilterType.NOPUT);
        }
        stream.send(WatchRequest.newBuilder().setCreateRequest(create).build());
    }

    private void onResponse(WatchResponse response) {
        lastHeardNanos = ticker.nanoTime();
        awaitingSinceNanos = NONE;
        answeredOnce = true;
        if (!response.getCreated() && response.getWatchId() == STREAM_WIDE_WATCH_ID) {
            // A stream-wide progress notice: the stream lives. It moves no watch's resume point: etcd 3.4 sends its
            // current revision even while a watcher of the stream still catches up on older events.
            return;
        }
        if (response.getCreated()) {
            // etcd answers creates in order; a refused create carries watch id -1, so order is what identifies it
            Watch watch = awaitingCreated.pollFirst();
            if (watch == null) {
                LOG.log(System.Logger.Level.WARNING, "etcd confirmed a watch that was not asked for: " + response);
                return;
            }
            if (response.getCanceled() && (response.getCancelReason().contains("invalid auth token")
                    || response.getCancelReason().contains("revision of auth store is old"))
                    && transport.authenticates()) {
                // the stream carries the token it was opened with: get a new one and reopen, watches resume
                byId.remove(watch.id);
                ContextStream<WatchRequest> old = stream;
                transport.refreshToken().whenComplete((t, e) -> {
                    context.execute(() -> {
                        if (stream == old && stream != null) {
                            stream.cancel("auth token expired");
                            onStreamBroken(new IllegalStateException("auth token expired"));
                        }
                    });
                });
                return;
            }
            if (response.getCanceled()) {
                byId.remove(watch.id);
                watch.detach();
                watch.fail(EtcdErrors.toException(Status.fromCode(Status.Code.FAILED_PRECONDITION)
                        .withDescription(response.getCancelReason()).asRuntimeException(), "etcd Watch", false));
                return;
            }
            if (response.getWatchId() != watch.id) {
                // etcd before 3.4 ignores client-chosen ids; with two creates in flight we could not route
                byId.remove(watch.id);
                watch.detach();
                watch.fail(new IllegalStateException("etcd assigned watch id " + response.getWatchId()
                        + " instead of " + watch.id + "; etcd-lock needs etcd 3.4 or newer"));
                return;
            }
            backoff.reset();
            if (watch.state == State.DEAD) {
                // its last subscriber left while the create was on its way: take it back
                watch.state = State.CANCELLING;
                stream.send(WatchRequest.newBuilder()
                        .setCancelRequest(WatchCancelRequest.newBuilder().setWatchId(watch.id)).build());
                return;
            }
            if (watch.state == State.CREATING || watch.state == State.RESUMING) {
                watch.confirmed();
            }
            return;
        }
        Watch watch = byId.get(response.getWatchId());
        if (watch == null) {
            return;
        }
        if (response.getCanceled()) {
            byId.remove(watch.id);
            watch.detach();
            if (response.getCompactRevision() > 0) {
                watch.compacted(response.getCompactRevision());
            } else if (watch.state != State.CANCELLING) {
                watch.fail(EtcdErrors.toException(Status.fromCode(Status.Code.CANCELLED)
                        .withDescription(response.getCancelReason()).asRuntimeException(), "etcd Watch", false));
            } else {
                watch.state = State.DEAD;
            }
            return;
        }
        if (response.getEventsCount() > 0) {
            watch.onEvents(response.getEventsList());
        } else {
            watch.onProgress(response.getHeader().getRevision());
        }
    }

    private void onStreamBroken(Throwable t) {
        stream = null;
        stopHeartbeat();
        awaitingCreated.clear();
        byId.clear();
        if (closed) {
            return;
        }
        int live = 0;
        long resumeFrom = Long.MAX_VALUE;
        for (List<Watch> watches : List.copyOf(bySpec.values())) {
            for (Watch watch : List.copyOf(watches)) {
                if (watch.subscribers.isEmpty()) {
                    watch.state = State.DEAD; // lingering: not worth resuming
                    if (watch.linger != null) {
                        watch.linger.cancel(false);
                    }
                    watch.detach();
                } else {
                    watch.state = State.RESUMING;
                    live++;
                    resumeFrom = Math.min(resumeFrom, watch.nextRevision);
                }
            }
        }
        if (live == 0) {
            return;
        }
        LOG.log(System.Logger.Level.INFO, "watch stream broke (" + t + "); resuming " + live + " watch(es)");
        if (JfrEvents.watchReconnectEnabled()) {
            JfrEvents.watchReconnect(String.valueOf(t), ticker.nanoTime() - streamOpenedNanos, live, resumeFrom);
        }
        reopenScheduled = true;
        transport.whenStreamMayReopen(t, () -> context.schedule(() -> {
            reopenScheduled = false;
            if (stream == null && !bySpec.isEmpty()) {
                openStream();
            }
        }, backoff.nextDelayNanos(), TimeUnit.NANOSECONDS));
    }

    private void startHeartbeat() {
        if (heartbeat == null && stream != null && !closed) {
            scheduleHeartbeat(awaitingSinceNanos != NONE ? ANSWER_DEADLINE.toNanos() / 2
                    : PROBE_AFTER_SILENCE.toNanos());
        }
    }

    private void scheduleHeartbeat(long delayNanos) {
        heartbeat = context.schedule(this::heartbeat, delayNanos, TimeUnit.NANOSECONDS);
    }

    private void stopHeartbeat() {
        if (heartbeat != null) {
            heartbeat.cancel(false);
            heartbeat = null;
        }
    }

    /** Probes a silent stream, abandons one that stays silent; stops while nobody listens to any watch. */
    private void heartbeat() {
        heartbeat = null;
        if (stream == null || closed || !anyoneListens()) {
            return; // idle costs nothing; attach() starts it again
        }
        long now = ticker.nanoTime();
        if (awaitingSinceNanos == NONE) {
            long silence = now - lastHeardNanos;
            if (silence < PROBE_AFTER_SILENCE.toNanos()) {
                scheduleHeartbeat(PROBE_AFTER_SILENCE.toNanos() - silence);
                return;
            }
            awaitingSinceNanos = now;
            sendProbe();
            scheduleHeartbeat(ANSWER_DEADLINE.toNanos());
            return;
        }
        long waited = now - awaitingSinceNanos;
        if (waited >= ANSWER_DEADLINE.toNanos()) {
            abandonStream(waited);
            return;
        }
        scheduleHeartbeat(ANSWER_DEADLINE.toNanos() - waited);
    }

    private boolean anyoneListens() {
        for (List<Watch> watches : bySpec.values()) {
            for (Watch watch : watches) {
                if (!watch.subscribers.isEmpty()) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * Creates a watch from the current revision (start revision 0, synced at once) on the first key of a watch
     * somebody listens to, which the user may read, that nobody subscribes to and nobody can join: born dead, it is
     * cancelled when etcd confirms it, as any watch whose last subscriber left while its create was on the way.
     * Events that reach it before the cancel go nowhere.
     */
    private void sendProbe() {
        probes.incrementAndGet();
        WatchSpec listened = null;
        for (List<Watch> watches : bySpec.values()) {
            for (Watch watch : watches) {
                if (listened == null && !watch.subscribers.isEmpty()) {
                    listened = watch.spec;
                }
            }
        }
        Watch probe = new Watch(WatchSpec.key(listened.key()), 0);
        probe.id = ++lastWatchId;
        probe.state = State.DEAD;
        byId.put(probe.id, probe);
        awaitingCreated.addLast(probe);
        stream.send(WatchRequest.newBuilder().setCreateRequest(WatchCreateRequest.newBuilder()
                .setKey(probe.spec.key()).setWatchId(probe.id)).build());
    }

    private void abandonStream(long silentNanos) {
        streamsAbandoned.incrementAndGet();
        long ms = TimeUnit.NANOSECONDS.toMillis(silentNanos);
        boolean wentSilent = answeredOnce;
        // a stream that never answered usually waits for a connection while etcd is unreachable: nothing new
        LOG.log(wentSilent ? System.Logger.Level.WARNING : System.Logger.Level.INFO, () -> "the watch stream "
                + (wentSilent ? "went silent" : "got no answer") + " for " + ms + " ms; its member may be paused "
                + "or cut off. Resuming the watches on a new stream");
        ContextStream<WatchRequest> dead = stream;
        dead.cancel("no answer to a probe within " + ms + " ms");
        onStreamBroken(new IllegalStateException("the watch stream was silent for " + ms + " ms"));
    }
}
