package dev.etcdlock.internal.lease;

import dev.etcdlock.ClientClosedException;
import dev.etcdlock.EtcdRequestException;
import dev.etcdlock.LeaseLostException;
import dev.etcdlock.internal.SerialContext;
import dev.etcdlock.internal.Ticker;
import dev.etcdlock.internal.events.JfrEvents;
import dev.etcdlock.internal.proto.LeaseGrantRequest;
import dev.etcdlock.internal.proto.LeaseGrpc;
import dev.etcdlock.internal.proto.LeaseKeepAliveRequest;
import dev.etcdlock.internal.proto.LeaseKeepAliveResponse;
import dev.etcdlock.internal.proto.LeaseRevokeRequest;
import dev.etcdlock.internal.proto.LeaseTimeToLiveRequest;
import dev.etcdlock.internal.transport.Backoff;
import dev.etcdlock.internal.transport.ContextStream;
import dev.etcdlock.internal.transport.EtcdErrors;
import dev.etcdlock.internal.transport.Transport;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Keeps all of a client's leases alive over one LeaseKeepAlive stream, each refreshed every TTL/3, and tells a
 * lease's owner at once when it is lost.
 *
 * <p>All state lives in the client's {@link SerialContext}: stream callbacks, timers and public methods run their
 * work there. A lease is lost when etcd answers a keep-alive with TTL &le; 0 (expired or revoked by someone else),
 * or when its validity, counted from the send time of the last answered keep-alive, runs out while etcd does not
 * answer. Loss completes {@link Lease#done()} exceptionally, never normally.
 *
 * <p>A stream that stops answering (its member paused, or cut off with the connection left open) is replaced when
 * a keep-alive has waited a whole interval. A replacement gets less patience: its keep-alives must be answered
 * within {@link #FRESH_STREAM_DEADLINE} (at most half the shortest interval), because by then a lease has only
 * about one interval of validity left, and a new stream that landed on the same dead member would otherwise be
 * noticed only at the next keep-alive, when the lease has run out.
 */
public final class LeaseManager {
    private static final System.Logger LOG = System.getLogger(LeaseManager.class.getName());
    /** etcd's upper bound (lease.MaxLeaseTTL). */
    public static final long MAX_TTL_SECONDS = 9_000_000_000L;
    /**
     * How long a newly opened stream may leave its keep-alives unanswered before it is replaced. etcd answers one
     * within a round trip to its leader; the rest is room for a pause on either side.
     */
    static final Duration FRESH_STREAM_DEADLINE = Duration.ofSeconds(2);

    private final Transport transport;
    private final SerialContext context;
    private final Ticker ticker;
    private final Backoff backoff = new Backoff(TimeUnit.MILLISECONDS.toNanos(50), TimeUnit.SECONDS.toNanos(1));
    private final AtomicInteger streamsOpened = new AtomicInteger();

    // serial context only
    private final Map<Long, Lease> leases = new HashMap<>();
    /** Leases granted elsewhere: never revoked here when lost, as another process may still keep them alive. */
    private final java.util.Set<Long> adopted = new java.util.HashSet<>();
    private ContextStream<LeaseKeepAliveRequest> stream;
    /** Replaces the current stream if it has not answered once by then; null once it has. */
    private ScheduledFuture<?> freshStreamCheck;
    private boolean reopenScheduled;
    private volatile boolean closed;

    /** {@code ticker} must be the clock of the transport's serial context's delays, as the validity timers are. */
    public LeaseManager(Transport transport, Ticker ticker) {
        this.transport = transport;
        this.context = transport.executor();
        this.ticker = ticker;
    }

    /**
     * Grants a lease of {@code ttl} (whole seconds, rounded up) and keeps it alive until revoked or lost.
     *
     * @throws IllegalArgumentException when the TTL is not positive or beyond etcd's maximum
     */
    public CompletableFuture<Lease> grant(Duration ttl) {
        long seconds = ttlSecondsOf(ttl);
        if (closed) {
            return CompletableFuture.failedFuture(closedException());
        }
        long sentAt = ticker.nanoTime();
        return transport.call(LeaseGrpc.getLeaseGrantMethod(), LeaseGrantRequest.newBuilder().setTTL(seconds).build(),
                        false)
                .thenApplyAsync(response -> {
                    if (!response.getError().isEmpty()) {
                        throw new EtcdRequestException("etcd refused to grant a lease: " + response.getError(), null);
                    }
                    Lease lease = new Lease(response.getID(), response.getTTL(),
                            validUntil(sentAt, response.getTTL()), ticker);
                    track(lease);
                    return lease;
                }, context);
    }

    /**
     * Takes over keeping an existing lease alive (granted elsewhere, e.g. by another process).
     *
     * @throws LeaseLostException (in the future) when etcd does not know the lease
     */
    public CompletableFuture<Lease> adopt(long leaseId) {
        if (closed) {
            return CompletableFuture.failedFuture(closedException());
        }
        long sentAt = ticker.nanoTime();
        return transport.call(LeaseGrpc.getLeaseTimeToLiveMethod(),
                        LeaseTimeToLiveRequest.newBuilder().setID(leaseId).build(), true)
                .thenApplyAsync(response -> {
                    if (leases.containsKey(leaseId)) {
                        // a second Lease object for one id would split its keep-alive answers between the two
                        throw new IllegalStateException("lease " + Long.toHexString(leaseId) + " is already kept "
                                + "alive by this client, through another session: use that session");
                    }
                    if (response.getTTL() <= 0) {
                        throw new LeaseLostException(leaseId, "lease " + Long.toHexString(leaseId)
                                + " does not exist in etcd (expired or revoked); grant a new one");
                    }
                    Lease lease = new Lease(leaseId, response.getGrantedTTL(),
                            validUntil(sentAt, response.getTTL()), ticker);
                    track(lease);
                    adopted.add(leaseId);
                    lease.done().whenComplete((v, t) -> adopted.remove(leaseId));
                    sendKeepAlive(lease);
                    return lease;
                }, context);
    }

    /**
     * Stops keeping the lease alive and revokes it in etcd, which deletes every key attached to it. Completes
     * {@link Lease#done()} normally. Revoking a lease that is already gone succeeds, and so does revoking one that has
     * ended here already (lost, revoked before, or revoked by {@link #close(Duration)}), without sending anything.
     * When etcd cannot be reached, the returned future fails and the lease ends by itself when its TTL runs out.
     */
    public CompletableFuture<Void> revoke(Lease lease) {
        CompletableFuture<Void> result = new CompletableFuture<>();
        context.execute(() -> revokeNow(lease, result)); // after the client's close too: the call fails as closed
        return result;
    }

    private void revokeNow(Lease lease, CompletableFuture<Void> result) {
        if (lease.state() != Lease.State.ACTIVE) {
            // lost, or revoked already (by the client's close, whose request is its own): nothing left to do here
            result.complete(null);
            return;
        }
        end(lease, Lease.State.REVOKED, null);
        transport.call(LeaseGrpc.getLeaseRevokeMethod(), LeaseRevokeRequest.newBuilder().setID(lease.id()).build(),
                true).whenComplete((r, t) -> {
                    if (t == null || EtcdErrors.kind(t) == EtcdErrors.Kind.LEASE_NOT_FOUND) {
                        result.complete(null);
                    } else {
                        result.completeExceptionally(EtcdErrors.unwrap(t));
                    }
                });
    }

    /** Number of LeaseKeepAlive streams this manager has opened, for tests and diagnostics. */
    public int streamsOpened() {
        return streamsOpened.get();
    }

    /** Revokes every lease (bounded by {@code timeout}) and stops the stream. Idempotent. */
    public CompletableFuture<Void> close(Duration timeout) {
        if (closed) {
            return CompletableFuture.completedFuture(null);
        }
        closed = true;
        CompletableFuture<Void> all = new CompletableFuture<>();
        Runnable revokeAll = () -> {
            List<CompletableFuture<Void>> revokes = new ArrayList<>();
            for (Lease lease : new ArrayList<>(leases.values())) {
                CompletableFuture<Void> revoked = new CompletableFuture<>();
                revokeNow(lease, revoked);
                revokes.add(revoked.exceptionally(t -> {
                    LOG.log(System.Logger.Level.WARNING, "could not revoke " + lease + " on close (" + t
                            + "); etcd will expire it after its TTL");
                    return null;
                }));
            }
            CompletableFuture.allOf(revokes.toArray(CompletableFuture[]::new))
                    .orTimeout(timeout.toNanos(), TimeUnit.NANOSECONDS)
                    .whenComplete((v, t) -> {
                        context.execute(this::closeStream);
                        all.complete(null);
                    });
        };
        context.execute(revokeAll);
        return all;
    }

    private void closeStream() {
        cancelFreshStreamCheck();
        if (stream != null) {
            stream.cancel("etcd-lock client closed");
            stream = null;
        }
    }

    /**
     * Until when a lease is certainly alive, given that etcd answered a request sent at {@code sentAt} with
     * {@code ttlSeconds}: etcd's leader counts the TTL from when it got the request, which is later. The margin covers
     * the two machines' clocks running at different rates (NTP slews at most 500 ppm) many times over, so that this
     * side always gives up before etcd can hand the lease's locks to someone else.
     */
    static long validUntil(long sentAt, long ttlSeconds) {
        long ttl = TimeUnit.SECONDS.toNanos(ttlSeconds);
        long margin = Math.min(Math.max(ttl / 100, TimeUnit.MILLISECONDS.toNanos(10)),
                TimeUnit.MILLISECONDS.toNanos(500));
        return sentAt + ttl - margin;
    }

    public static long ttlSecondsOf(Duration ttl) {
        if (ttl == null || ttl.isNegative() || ttl.isZero()) {
            throw new IllegalArgumentException("lease TTL must be positive, was " + ttl);
        }
        long seconds = ttl.getSeconds() + (ttl.getNano() > 0 ? 1 : 0);
        if (seconds > MAX_TTL_SECONDS) {
            throw new IllegalArgumentException("lease TTL " + ttl + " is larger than etcd's maximum of "
                    + MAX_TTL_SECONDS + " seconds");
        }
        return seconds;
    }

    // ---- in the serial context from here on ----

    private void track(Lease lease) {
        if (closed) {
            // granted while closing: give it back rather than leave it to expire
            revoke(lease);
            throw closedException();
        }
        leases.put(lease.id(), lease);
        if (stream == null) {
            openStream(); // ready before the first keep-alive is due, and a broken one is noticed early
        }
        armExpiry(lease);
        scheduleKeepAlive(lease, lease.keepAliveIntervalNanos());
    }

    private void scheduleKeepAlive(Lease lease, long delayNanos) {
        if (lease.keepAliveTimer != null) {
            lease.keepAliveTimer.cancel(false);
        }
        lease.keepAliveTimer = context.schedule(() -> {
            if (lease.state() == Lease.State.ACTIVE) {
                sendKeepAlive(lease);
                scheduleKeepAlive(lease, lease.keepAliveIntervalNanos());
            }
        }, delayNanos, TimeUnit.NANOSECONDS);
    }

    private void sendKeepAlive(Lease lease) {
        if (stream == null) {
            openStream(); // sends a keep-alive for every lease, this one included
            return;
        }
        long now = ticker.nanoTime();
        Long oldest = lease.unansweredSendTimes.peekFirst();
        if (oldest != null && now - oldest >= lease.keepAliveIntervalNanos()) {
            // a whole interval without an answer: the member may be paused or cut off; move to another one. At
            // least, not more: this runs an interval after the last send, exactly that on a test's fake clock
            LOG.log(System.Logger.Level.WARNING, "no keep-alive answer for " + lease + " in "
                    + TimeUnit.NANOSECONDS.toMillis(now - oldest) + " ms; reopening the keep-alive stream");
            restartStream();
            return;
        }
        lease.unansweredSendTimes.addLast(now);
        stream.send(LeaseKeepAliveRequest.newBuilder().setID(lease.id()).build());
    }

    private void openStream() {
        if (closed || reopenScheduled) {
            return;
        }
        stream = transport.openStream(LeaseGrpc.getLeaseKeepAliveMethod(), this::onKeepAliveResponse, this::onStreamBroken);
        streamsOpened.incrementAndGet();
        long shortestInterval = Long.MAX_VALUE;
        for (Lease lease : leases.values()) {
            lease.unansweredSendTimes.clear();
            sendKeepAlive(lease);
            shortestInterval = Math.min(shortestInterval, lease.keepAliveIntervalNanos());
        }
        if (!leases.isEmpty()) {
            ContextStream<LeaseKeepAliveRequest> opened = stream;
            long deadline = Math.min(FRESH_STREAM_DEADLINE.toNanos(), shortestInterval / 2);
            cancelFreshStreamCheck();
            freshStreamCheck = context.schedule(() -> {
                freshStreamCheck = null;
                if (stream == opened && !closed) {
                    LOG.log(System.Logger.Level.WARNING, "the new keep-alive stream has not answered in "
                            + TimeUnit.NANOSECONDS.toMillis(deadline) + " ms; its member may be paused or cut off. "
                            + "Reopening it");
                    restartStream();
                }
            }, deadline, TimeUnit.NANOSECONDS);
        }
    }

    private void cancelFreshStreamCheck() {
        if (freshStreamCheck != null) {
            freshStreamCheck.cancel(false);
            freshStreamCheck = null;
        }
    }

    private void restartStream() {
        cancelFreshStreamCheck();
        ContextStream<LeaseKeepAliveRequest> old = stream;
        stream = null;
        if (old != null) {
            old.cancel("keep-alive stream stalled");
        }
        scheduleReopen();
    }

    private void onStreamBroken(Throwable t) {
        stream = null;
        cancelFreshStreamCheck();
        if (closed) {
            return;
        }
        LOG.log(System.Logger.Level.INFO, "keep-alive stream broke (" + t + "); reopening for " + leases.size()
                + " lease(s)");
        transport.whenStreamMayReopen(t, this::scheduleReopen);
    }

    private void scheduleReopen() {
        for (Lease lease : leases.values()) {
            lease.unansweredSendTimes.clear();
        }
        if (reopenScheduled || closed || leases.isEmpty()) {
            return;
        }
        reopenScheduled = true;
        context.schedule(() -> {
            reopenScheduled = false;
            if (stream == null && !leases.isEmpty()) {
                openStream();
            }
        }, backoff.nextDelayNanos(), TimeUnit.NANOSECONDS);
    }

    private void onKeepAliveResponse(LeaseKeepAliveResponse response) {
        backoff.reset();
        cancelFreshStreamCheck(); // any answer shows the stream's member alive
        Lease lease = leases.get(response.getID());
        if (lease == null) {
            return;
        }
        Long sentAt = lease.unansweredSendTimes.pollFirst();
        if (response.getTTL() <= 0) {
            JfrEvents.leaseLost(lease.id(), lease.ttlSeconds(), true);
            end(lease, Lease.State.LOST, "etcd reports lease " + Long.toHexString(lease.id())
                    + " expired or revoked");
            return;
        }
        if (sentAt != null) {
            lease.renewed(response.getTTL(), validUntil(sentAt, response.getTTL()));
            armExpiry(lease);
            JfrEvents.keepAlive(lease.id(), response.getTTL(), ticker.nanoTime() - sentAt, leases.size());
        }
    }

    private void armExpiry(Lease lease) {
        if (lease.expiryTimer != null) {
            lease.expiryTimer.cancel(false);
        }
        long delay = lease.validUntilNanos() - ticker.nanoTime();
        lease.expiryTimer = context.schedule(() -> {
            if (lease.state() == Lease.State.ACTIVE && ticker.nanoTime() - lease.validUntilNanos() >= 0) {
                JfrEvents.leaseLost(lease.id(), lease.ttlSeconds(), false);
                boolean grantedHere = !adopted.contains(lease.id()); // before end(), which forgets it
                end(lease, Lease.State.LOST, "no keep-alive answer from etcd before lease "
                        + Long.toHexString(lease.id()) + " (TTL " + lease.ttlSeconds()
                        + " s) could expire; etcd may already have released it");
                if (grantedHere) {
                    revokeWhenReachable(lease, new Backoff(TimeUnit.MILLISECONDS.toNanos(100),
                        TimeUnit.SECONDS.toNanos(2)), ticker.nanoTime() + 2 * TimeUnit.SECONDS.toNanos(
                        lease.ttlSeconds()));
                }
            }
        }, Math.max(0, delay), TimeUnit.NANOSECONDS);
    }

    /**
     * A lease given up here without etcd's word may still be alive there (etcd was slow or unreachable, and a
     * leader change even restarts every TTL): its keys would block their names for up to a TTL more, with nobody
     * using them. Revoke it as soon as etcd answers; past twice the TTL etcd has certainly expired it.
     */
    private void revokeWhenReachable(Lease lease, Backoff backoff, long giveUpAtNanos) {
        if (closed || ticker.nanoTime() - giveUpAtNanos >= 0 || leases.containsKey(lease.id())) {
            return; // closed, certainly expired, or adopted again meanwhile
        }
        transport.call(LeaseGrpc.getLeaseRevokeMethod(), LeaseRevokeRequest.newBuilder().setID(lease.id()).build(),
                true).whenCompleteAsync((r, t) -> {
                    if (t == null) {
                        LOG.log(System.Logger.Level.INFO, () -> "revoked " + lease + ", lost here while etcd still "
                                + "had it, so that its keys do not block their names until it expires");
                    } else if (EtcdErrors.kind(t) != EtcdErrors.Kind.LEASE_NOT_FOUND && !closed) {
                        context.schedule(() -> revokeWhenReachable(lease, backoff, giveUpAtNanos),
                                backoff.nextDelayNanos(), TimeUnit.NANOSECONDS);
                    }
                }, context);
    }

    private void end(Lease lease, Lease.State state, String lossReason) {
        if (lease.state() != Lease.State.ACTIVE) {
            return;
        }
        lease.setState(state);
        leases.remove(lease.id());
        if (lease.keepAliveTimer != null) {
            lease.keepAliveTimer.cancel(false);
        }
        if (lease.expiryTimer != null) {
            lease.expiryTimer.cancel(false);
        }
        if (state == Lease.State.LOST) {
            LOG.log(System.Logger.Level.WARNING, lossReason);
            lease.done().completeExceptionally(new LeaseLostException(lease.id(), lossReason
                    + "; locks held with it may now belong to someone else: stop the protected work and "
                    + "acquire again with a new session"));
        } else {
            lease.done().complete(null);
        }
    }

    private static ClientClosedException closedException() {
        return new ClientClosedException("the etcd-lock client is closed; create a new one");
    }
}
