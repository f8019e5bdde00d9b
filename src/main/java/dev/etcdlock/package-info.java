/**
 * Distributed locks, semaphores, read-write locks and leader election on etcd v3, over etcd's gRPC API, with the key
 * layout of Go's {@code concurrency} package (so Java, Go and {@code etcdctl lock}/{@code elect} users of a name
 * exclude each other). This package is the whole public API; {@code dev.etcdlock.internal} and its subpackages are
 * not, and may change in any release.
 *
 * <h2 id="quick-start">Quick start</h2>
 *
 * <pre>{@code
 * try (EtcdLockClient client = EtcdLockClient.connect("http://10.0.0.1:2379,http://10.0.0.2:2379");
 *      Session session = client.newSession(Duration.ofSeconds(10))) {
 *     Mutex mutex = session.mutex("/my-app/locks/config");
 *     try (LockHandle lock = mutex.lock(Duration.ofSeconds(30))) {
 *         // write only while the lock is still ours, checked by etcd itself:
 *         boolean written = client.txn().ifHeld(lock).put("/my-app/config", json).commit();
 *     }
 * }
 * }</pre>
 *
 * <p>An {@link dev.etcdlock.EtcdLockClient} is the connection; a {@link dev.etcdlock.Session} is one etcd lease
 * kept alive by the client, to which every lock key taken through it is attached; {@link dev.etcdlock.Mutex},
 * {@link dev.etcdlock.Semaphore}, {@link dev.etcdlock.ReadWriteLock} and {@link dev.etcdlock.Election} are made from
 * a session and hand out a {@link dev.etcdlock.LockHandle} (or a {@link dev.etcdlock.Leadership}) per acquisition.
 * Waiters are served in the order they arrived, by the create revision of their key in etcd, and each acquisition
 * has a fencing token ({@link dev.etcdlock.LockHandle#fencingToken()}) that grows with every holder.
 *
 * <h2 id="threads">Threading model</h2>
 *
 * <ul>
 *   <li>{@code EtcdLockClient}, {@code Session}, the recipes ({@code Mutex}, {@code Semaphore},
 *       {@code ReadWriteLock}, {@code Election}) and the handles ({@code LockHandle}, {@code Leadership}) are
 *       thread-safe. A {@link dev.etcdlock.Txn} is not: build and commit it on one thread.</li>
 *   <li>No thread per lock, per waiter or per client: etcd-lock's I/O runs on gRPC's shared Netty threads and one
 *       timer shared by every client of the JVM. Blocking methods block the calling thread only, so they work from
 *       virtual threads too. A {@link dev.etcdlock.LockListener} is called on a shared pool of daemon threads
 *       ({@code etcd-lock-listener}) that grows only while listeners have calls queued; idle threads end after a
 *       minute.</li>
 *   <li>Futures and callbacks handed to the application ({@code lockAsync()}, {@code Session.lost()},
 *       {@code LockHandle.lost()}, {@code Leadership.lost()}, {@code Election.observe()}) complete on the common
 *       {@link java.util.concurrent.ForkJoinPool}, never on etcd-lock's I/O threads; a {@code lost()} ended by the
 *       application's own {@code close()}, {@code unlock()} or {@code resign()} is done when that call returns.</li>
 *   <li>Ownership belongs to the handle, not to a thread: any thread may unlock a {@code LockHandle} another thread
 *       acquired. Locks are not reentrant.</li>
 *   <li>A session takes one place per name at a time, as etcd sees one key per session and name. Threads that share a
 *       session and ask for the same name take turns, first come first served; a thread that asks again for a name
 *       its session holds waits for its own handle to be released. Use one session per independent holder.</li>
 * </ul>
 *
 * <h2 id="waits">How a wait ends</h2>
 *
 * Every blocking acquisition ({@code lock}, {@code acquire}, {@code campaign} and their variants) starts by putting
 * the session's waiter key in etcd's queue for the name (one Txn), then waits for the keys ahead of it to go. It ends
 * in one of these ways; each method says which apply to it.
 * <ul>
 *   <li><b>Acquired</b>: it returns the handle. When the lock is granted at the very moment the caller gives up,
 *       the timed methods return the handle rather than throw; the {@code ...Interruptibly()} methods and a
 *       cancelled future release it again.</li>
 *   <li><b>Timeout</b> (the methods taking a {@link java.time.Duration}): {@link dev.etcdlock.LockTimeoutException}.
 *       The waiter key is deleted before the exception is thrown, so the call returns about one round trip (more while
 *       an enqueue Txn is still on its way) after the timeout. When etcd cannot be reached for that delete, the call
 *       returns once the request timeout has run out, and the message says the key is deleted in the background
 *       (see below). If the wait had already failed when the time ran out (lease lost, etcd error), that failure is
 *       thrown instead. A non-positive timeout is refused with
 *       {@link java.lang.IllegalArgumentException}; {@code tryLock()}/{@code tryAcquire()} is the call that never
 *       waits.</li>
 *   <li><b>Interruption</b>: {@code lock()}, {@code acquire()} and {@code campaign(value)} are not interruptible:
 *       they go on waiting and return with the thread's interrupt flag set again. The timed methods throw
 *       {@link dev.etcdlock.LockInterruptedException} with the interrupt flag set again; the
 *       {@code ...Interruptibly()} methods throw {@link java.lang.InterruptedException} with the flag cleared, as
 *       {@code InterruptedException} is meant to. Both delete the waiter key before they throw. An interrupt already
 *       pending when the call starts ends it the same way.</li>
 *   <li><b>Lease lost</b> (see <a href="#lease-lost">below</a>): {@link dev.etcdlock.LeaseLostException}, at once;
 *       a session whose lease is no longer certainly valid is never granted anything. The waiter key goes with the
 *       lease; the client also deletes it in the background.</li>
 *   <li><b>etcd unavailable</b>: the enqueue Txn is written so that sending it twice is harmless, so it is retried on
 *       other members within the client's request timeout ({@link dev.etcdlock.EtcdLockClient.Builder#requestTimeout
 *       requestTimeout}, 10 s by default); if no member could execute it, the call fails with
 *       {@link dev.etcdlock.EtcdUnavailableException}. Once enqueued, a waiter rides out outages and member failures
 *       (its watch resumes on another member) for as long as its lease is provably alive, and then fails with
 *       {@code LeaseLostException}; only the re-read that follows a compaction of the history it watches can still
 *       fail with {@code EtcdUnavailableException}.</li>
 *   <li><b>etcd refused</b> the request (permission denied, database full, a request too large):
 *       {@link dev.etcdlock.EtcdRequestException}, not retried.</li>
 *   <li><b>Closed</b>: {@link dev.etcdlock.ClientClosedException}, at once, when the session or the client is closed
 *       before or during the wait.</li>
 *   <li><b>Misuse</b>: {@link java.lang.IllegalStateException} when the session holds or waits for the other side of
 *       a read-write lock, when a semaphore's holders use another permit count, or when the session's waiter key
 *       keeps reappearing (its lease is used by another client too).</li>
 * </ul>
 * On every failure the waiter key is removed: before the method throws on timeout and interruption, in the
 * background on lease loss and etcd failures. When etcd cannot be reached for that delete, the session retries it
 * in the background (a guarded delete, so a repeat is harmless; backoff from 100 ms to 5 s) until etcd answers or the
 * lease ends, so the key is gone as soon as etcd answers again; the same session's next semaphore or election
 * attempt on the name waits for that. An {@code unlock()} or {@code resign()} that got no answer is retried the same
 * way.
 *
 * <h2 id="lease-lost">What "lease lost" means</h2>
 *
 * A session's locks last as long as its lease. The client keeps the lease alive (a keep-alive every third of the
 * TTL) and knows until when it is certainly valid: the send time of the last answered keep-alive plus the TTL, minus a
 * small margin, on the monotonic clock. The lease is <em>lost</em> when etcd answers a keep-alive with "gone" (it
 * expired, or somebody revoked it) or when that validity runs out before etcd answers, which the client reports
 * before etcd can expire the lease and give the locks to someone else. Then:
 * <ul>
 *   <li>{@link dev.etcdlock.Session#lost()} completes exceptionally with {@link dev.etcdlock.LeaseLostException},
 *       and {@link dev.etcdlock.Session#isValid()} and every handle's {@code isHeld()} return false;</li>
 *   <li>every wait of the session fails with {@code LeaseLostException}, and so does every new acquisition;</li>
 *   <li>a held lock may already belong to someone else: stop the work it protected. {@code unlock()} and
 *       {@code resign()} throw {@link dev.etcdlock.LockNotHeldException} when the key is gone, and never delete
 *       anybody else's key; a write guarded by {@link dev.etcdlock.Txn#ifHeld(LockHandle)} is not applied;</li>
 *   <li>the session cannot recover: open a new one and acquire again.</li>
 * </ul>
 * Closing the session or the client is not a loss: it revokes the lease, which releases the locks at once.
 *
 * <h2 id="errors">Exceptions</h2>
 *
 * Every exception etcd-lock throws is unchecked and extends {@link dev.etcdlock.EtcdLockException}, except
 * {@link java.lang.InterruptedException} from the {@code ...Interruptibly()} methods and the standard exceptions for
 * bad arguments ({@link java.lang.IllegalArgumentException}, {@link java.lang.NullPointerException}) and misuse
 * ({@link java.lang.IllegalStateException}). Their messages say what happened and what to do.
 * <ul>
 *   <li>{@link dev.etcdlock.EtcdUnavailableException}: etcd could not be reached or could not serve the request in
 *       time; reads and idempotent writes were retried on other members first.
 *       {@link dev.etcdlock.EtcdUnavailableException#isOutcomeUnknown()} tells whether a write may have been applied
 *       anyway: such a write is never re-sent.</li>
 *   <li>{@link dev.etcdlock.EtcdRequestException}: etcd refused the request; sending it again fails the same way.</li>
 *   <li>{@link dev.etcdlock.LeaseLostException}: the session's lease is gone (<a href="#lease-lost">above</a>).</li>
 *   <li>{@link dev.etcdlock.LockTimeoutException}, {@link dev.etcdlock.LockInterruptedException}: a wait given up
 *       (<a href="#waits">above</a>).</li>
 *   <li>{@link dev.etcdlock.LockNotHeldException}: an unlock, resign or proclaim found the lock or term no longer
 *       ours.</li>
 *   <li>{@link dev.etcdlock.ClientClosedException}: the client or the session was closed.</li>
 * </ul>
 */
package dev.etcdlock;
