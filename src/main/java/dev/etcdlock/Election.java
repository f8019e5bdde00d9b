package dev.etcdlock;

import com.google.protobuf.ByteString;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.events.LockLabel;
import dev.etcdlock.internal.lock.LeaderStream;
import dev.etcdlock.internal.lock.LockQueue;
import dev.etcdlock.internal.lock.QueueObserver;
import dev.etcdlock.internal.lock.QueuePolicy;
import dev.etcdlock.internal.lock.SessionLocks;
import dev.etcdlock.internal.lock.Waiter;
import dev.etcdlock.internal.lock.Waits;
import dev.etcdlock.internal.transport.EtcdErrors;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.ForkJoinPool;
import java.util.function.Consumer;

/**
 * Leader election on a name through a {@link Session}, with the keys and semantics of Go's
 * {@code concurrency.Election} (and {@code etcdctl elect}), so Java and Go candidates and observers of one name take
 * part in the same election. Each candidate's key is {@code <name>/<lease id in hex>}, its value the candidate's
 * value, attached to its session's lease; the leader is the key with the lowest create revision. A campaign waits
 * until every key created before its own is gone; a crashed leader's key goes when its lease expires.
 *
 * <pre>{@code
 * Election election = session.election("/my-app/leader");
 * try (Leadership term = election.campaign("10.0.0.7:8080")) {   // blocks until elected
 *     lead(term);
 * }   // resigned
 * election.leader().ifPresent(l -> System.out.println(l.value() + " leads"));
 * }</pre>
 *
 * <p>Every campaign ends the same ways as a lock's wait (see <a href="package-summary.html#waits">how a wait
 * ends</a>): with a {@link Leadership}; with {@link LockTimeoutException} when its
 * timeout passes; with {@link InterruptedException} ({@link #campaignInterruptibly}) or
 * {@link LockInterruptedException} ({@link #campaign(String, Duration)}) when interrupted; with
 * {@link LeaseLostException} at once when the session's lease is lost; with {@link ClientClosedException} when the
 * session or client is closed; with {@link EtcdUnavailableException} when etcd cannot be reached to campaign. Once
 * the candidate waits, outages are waited out (its watch resumes on another member) for as long as the lease is
 * provably alive, and then the campaign fails with {@link LeaseLostException}. The candidate key is removed on every
 * failure: before the method throws on timeout and interruption, in the background on lease loss and etcd failures.
 * A session is one candidate per name: a second campaign through
 * the same session (from another thread) waits until the first one's term ends, then campaigns with its own value. A
 * session is one place per name across recipes too: do not use the name of an election as a lock through the same
 * session.
 *
 * <p>Thread-safe. {@link #leader()} and {@link #observe()} need no lease and go on working after the session is
 * closed or lost; campaigns need a live session.
 */
public final class Election {
    /** Longest election name accepted, in UTF-8 bytes: the same as {@link Mutex#MAX_NAME_BYTES}. */
    public static final int MAX_NAME_BYTES = Mutex.MAX_NAME_BYTES;

    private final Session session;
    private final SessionLocks locks;
    private final Engine engine;
    private final QueueObserver observer;
    private final String name;
    private final ByteString prefix;
    private final Waits.Words words;

    Election(Session session, SessionLocks locks, Engine engine, String name) {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("election name must not be empty; use a key prefix like "
                    + "/my-app/leader");
        }
        if (name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("election name must not contain NUL characters: "
                    + name.replace('\0', '?'));
        }
        int bytes = name.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_NAME_BYTES) {
            throw new IllegalArgumentException("election name is " + bytes + " bytes; the limit is " + MAX_NAME_BYTES
                    + ": use a short key prefix like /my-app/leader");
        }
        this.session = session;
        this.locks = locks;
        this.engine = engine;
        this.observer = new QueueObserver(engine);
        this.name = name;
        this.prefix = ByteString.copyFromUtf8(name + "/"); // Go's NewElection: pfx + "/"
        this.words = new Waits.Words("candidate", "not elected leader of " + name + " within ",
                "interrupted while campaigning in election " + name, "to see who leads without campaigning, use "
                + "leader()", "campaign in election " + name);
    }

    /**
     * The name given to the session, a key prefix. No I/O.
     *
     * @return the name
     */
    public String name() {
        return name;
    }

    /**
     * Campaigns with {@code value} and waits as long as it takes to be elected. Interruption does not end the wait:
     * the interrupt flag is set again when the method returns or throws.
     *
     * @param value the candidate's value, stored as UTF-8 in its key, what {@link #leader()} and observers see
     * @return the term won; resign it with {@link Leadership#close()}
     * @throws LeaseLostException at once when the session's lease is lost, before or while waiting
     * @throws ClientClosedException when the session or the client is closed
     * @throws EtcdUnavailableException when etcd cannot be reached to campaign (within the request timeout)
     * @throws EtcdRequestException when etcd refuses the request (permission denied)
     * @throws IllegalStateException when this session holds or waits for the name through a read-write lock
     * @throws NullPointerException when the value is null
     */
    public Leadership campaign(String value) {
        return waits(value).await();
    }

    /**
     * Campaigns with {@code value} and waits at most {@code timeout} to be elected. Returns the term if it is won as
     * the time runs out.
     *
     * @param value the candidate's value, stored as UTF-8 in its key
     * @param timeout how long to wait; the call may return about one round trip later, once the key is gone
     * @return the term won; resign it with {@link Leadership#close()}
     * @throws LockTimeoutException when the time passes first; the candidate key is deleted by then (if etcd cannot
     *     be reached for that, the session deletes it in the background as soon as etcd answers, and the message says
     *     so)
     * @throws LockInterruptedException when the thread is interrupted; the key is deleted as on a timeout, the flag
     *     set again
     * @throws LeaseLostException at once when the session's lease is lost while waiting
     * @throws ClientClosedException when the session or the client is closed
     * @throws EtcdUnavailableException when etcd cannot be reached to campaign (within the request timeout)
     * @throws EtcdRequestException when etcd refuses the request (permission denied)
     * @throws IllegalArgumentException when the timeout is not positive
     * @throws IllegalStateException as {@link #campaign(String)}
     * @throws NullPointerException when the value or the timeout is null
     */
    public Leadership campaign(String value, Duration timeout) {
        return waits(value).await(timeout);
    }

    /**
     * Campaigns with {@code value} and waits until elected or interrupted.
     *
     * @param value the candidate's value, stored as UTF-8 in its key
     * @return the term won; resign it with {@link Leadership#close()}
     * @throws InterruptedException when interrupted while waiting (or already interrupted when called); the
     *     candidate key is removed first (and a term won at that very moment is resigned), and the interrupt flag is
     *     cleared, as usual with this exception
     * @throws LeaseLostException at once when the session's lease is lost while waiting
     * @throws ClientClosedException when the session or the client is closed
     * @throws EtcdUnavailableException when etcd cannot be reached to campaign (within the request timeout)
     * @throws EtcdRequestException when etcd refuses the request (permission denied)
     * @throws IllegalStateException as {@link #campaign(String)}
     * @throws NullPointerException when the value is null
     */
    public Leadership campaignInterruptibly(String value) throws InterruptedException {
        return waits(value).awaitInterruptibly();
    }

    /**
     * Campaigns with {@code value} without blocking. The future completes with the {@link Leadership} when elected,
     * or exceptionally as {@link #campaign(String, Duration)} fails; it completes on the common
     * {@link ForkJoinPool}, never on etcd-lock's I/O threads, so dependent actions may block. Cancelling it (or
     * {@code orTimeout}) gives up the campaign and removes the candidate key; a term won at that very moment is
     * resigned.
     *
     * @param value the candidate's value, stored as UTF-8 in its key
     * @return a future of the term
     * @throws ClientClosedException at once when the session is closed
     * @throws IllegalStateException at once as {@link #campaign(String)}
     * @throws NullPointerException when the value is null
     */
    public CompletableFuture<Leadership> campaignAsync(String value) {
        return waits(value).awaitAsync();
    }

    /**
     * The current leader (Go's {@code Leader}): one read of the key with the lowest create revision, retried on
     * other members; empty when nobody campaigns. Needs no lease: works through a closed or lost session too.
     * Blocks until answered; not interruptible.
     *
     * @return the leader as etcd had it when it answered, or empty
     * @throws EtcdUnavailableException when no member answered within the client's request timeout
     * @throws EtcdRequestException when etcd refuses the read (permission denied)
     * @throws ClientClosedException when the client is closed
     */
    public Optional<LeaderInfo> leader() {
        try {
            return Optional.ofNullable(observer.head(prefix).join()).map(LeaderInfo::of);
        } catch (RuntimeException e) {
            throw EtcdErrors.toException(e, "reading the leader of " + name, false);
        }
    }

    /**
     * The leaders of this election as they change (Go's {@code Observe}), on the client's one watch stream: each
     * subscriber gets the current leader first (nothing while nobody campaigns), then every new leader and every
     * value a leader proclaims, in etcd's order, so {@link LeaderInfo#fencingToken()} never decreases along the
     * stream. While a subscriber has no outstanding demand only the newest leader is kept for it: it gets that one
     * when it requests again, not a backlog. The end of a term with nobody waiting is not an event;
     * {@link #leader()} then returns empty.
     *
     * <p>Signals come on the common {@link ForkJoinPool}, one at a time. The stream survives what the watch stream
     * survives: members that die or stop answering (the watch resumes elsewhere from the next revision, nothing
     * lost or repeated), etcd outages (reads are tried again until etcd answers), and compaction (the leader is
     * read again and followed from there). It needs no lease and ends only with {@code cancel()}, or with
     * {@code onError}: {@link ClientClosedException} when the client closes, {@link EtcdRequestException} when etcd
     * refuses the read or the watch (permission denied). It never completes.
     *
     * @return a publisher; each {@code subscribe} follows the leader on its own, and no I/O happens before it
     */
    public Flow.Publisher<LeaderInfo> observe() {
        return new LeaderStream<>(observer, prefix, ForkJoinPool.commonPool(), LeaderInfo::of);
    }

    /**
     * Calls {@code onLeader} with each leader as {@link #observe()} streams them, until the returned subscription
     * is cancelled. An error that ends the stream (the client closed, etcd refused) is logged; subscribe to
     * {@link #observe()} to handle it yourself. {@code onLeader} is called on the common {@link ForkJoinPool}, one
     * call at a time; an exception it throws cancels the subscription.
     *
     * @param onLeader called with each leader
     * @return the subscription; {@code cancel()} it to stop
     * @throws NullPointerException when {@code onLeader} is null
     */
    public Flow.Subscription observe(Consumer<? super LeaderInfo> onLeader) {
        Objects.requireNonNull(onLeader, "onLeader");
        ListeningSubscriber subscriber = new ListeningSubscriber(onLeader);
        observe().subscribe(subscriber);
        return subscriber.subscription; // set by onSubscribe, which subscribe() calls before it returns
    }

    /** One per call, as the term handed out carries the campaign's value. */
    private Waits<Leadership> waits(String value) {
        return new Waits<>(() -> start(value), held -> elected(held, value), Leadership::close, words);
    }

    private Waiter start(String value) {
        Objects.requireNonNull(value, "value");
        session.checkOpen();
        // the queue engine's exclusive rule with the candidate's value as the key's value, as Go writes it
        return locks.lock(new QueuePolicy(prefix, prefix, QueuePolicy.Rule.exclusive(),
                new QueuePolicy.Value.Fixed(ByteString.copyFromUtf8(value))),
                new LockLabel(LockListener.Kind.LEADERSHIP, name));
    }

    private Leadership elected(LockQueue.Held held, String value) {
        return Leadership.elected(name, locks, engine.kv(), held, value);
    }

    @Override
    public String toString() {
        return "Election{" + name + ", " + session + "}";
    }

    /** {@link #observe(Consumer)}'s subscriber: everything requested, errors logged. */
    private static final class ListeningSubscriber implements Flow.Subscriber<LeaderInfo> {
        private static final System.Logger LOG = System.getLogger(Election.class.getName());
        private final Consumer<? super LeaderInfo> onLeader;
        private Flow.Subscription subscription;

        ListeningSubscriber(Consumer<? super LeaderInfo> onLeader) {
            this.onLeader = onLeader;
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(LeaderInfo leader) {
            onLeader.accept(leader);
        }

        @Override
        public void onError(Throwable error) {
            LOG.log(error instanceof ClientClosedException ? System.Logger.Level.DEBUG : System.Logger.Level.WARNING,
                    "observing an election ended: " + error);
        }

        @Override
        public void onComplete() {
        }
    }
}
