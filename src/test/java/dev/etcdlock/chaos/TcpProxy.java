package dev.etcdlock.chaos;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A TCP proxy on 127.0.0.1 in front of one target (an etcd member), for injecting network faults in tests: point a
 * client at {@link #endpoint()} instead of the member, then {@link #drop()}, {@link #hang()}, {@link #delay} or
 * {@link #refuse()} its connections and {@link #pass()} to heal.
 *
 * <p>Modes and what a client sees:
 * <ul>
 *   <li>{@link #pass()} (the default): bytes are forwarded as they come, both ways.</li>
 *   <li>{@link #drop()}: every current connection is reset (RST, as with {@code SO_LINGER 0}) on both sides at
 *       once; the mode stays as it was, so new connections are served as before.</li>
 *   <li>{@link #hang()}: a network partition, or a member paused with SIGSTOP. Nothing is forwarded either way, but
 *       no socket is closed, and new connections are accepted (the client's connect succeeds) and get nothing.
 *       Bytes that arrive meanwhile are <b>held, not dropped</b>, and released in order by {@link #pass()} or
 *       {@link #delay}: a partition that heals, where TCP would have retransmitted them. A connection closed by
 *       one side during the hang is closed on the other only after the bytes held before that close went out.</li>
 *   <li>{@link #holdAnswers()}: as a hang, for the member's answers only: requests reach the member and are
 *       executed, their answers are held until {@link #pass()}. A member that applies a write and whose answer is
 *       lost on the way back.</li>
 *   <li>{@link #delay(Duration)}: each chunk read from one side is written to the other {@code d} after it was
 *       read, in order, both ways (latency, not a bandwidth cap: chunks are in flight concurrently).</li>
 *   <li>{@link #refuse()}: the member is down. Current connections are reset, and every new one is accepted and
 *       reset at once (the port stays bound to this proxy, so no other process can take it meanwhile).</li>
 * </ul>
 * A connection whose target cannot be reached is reset on the client's side.
 *
 * <p>Threads: one acceptor and four per connection (a reader and a writer per direction), daemon, named
 * {@code tcp-proxy-<port>-...}. {@link #close()} resets every connection and returns once all of them ended.
 */
public final class TcpProxy implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(TcpProxy.class.getName());
    private static final int CHUNK = 16 * 1024;
    /** Chunks held per direction before the reader stops reading (then TCP flow control holds the sender). */
    private static final int MAX_QUEUED_CHUNKS = 1024;
    private static final int CONNECT_TIMEOUT_MS = 2_000;
    private static final long JOIN_TIMEOUT_MS = 5_000;

    private enum Mode { PASS, HANG, HOLD_ANSWERS, DELAY, REFUSE }

    private final String targetHost;
    private final int targetPort;
    private final ServerSocket listener;
    private final int port;
    private final Thread acceptor;
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    /** Every thread started, so close() can wait for each; finished ones are removed as they end. */
    private final Set<Thread> threads = ConcurrentHashMap.newKeySet();
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong bytesFromClients = new AtomicLong();
    private final AtomicLong connectionIds = new AtomicLong();

    /** Guards mode changes so that writers waiting on a hang or a delay wake up at once. */
    private final ReentrantLock modeLock = new ReentrantLock();
    private final Condition modeChanged = modeLock.newCondition();
    private volatile Mode mode = Mode.PASS;
    private volatile long delayNanos;
    private volatile boolean closed;

    private TcpProxy(InetSocketAddress listenOn, String targetHost, int targetPort) throws IOException {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        this.listener = new ServerSocket();
        listener.setReuseAddress(true);
        listener.bind(listenOn, 128);
        this.port = listener.getLocalPort();
        this.acceptor = newThread("accept", this::acceptLoop);
        acceptor.start();
    }

    /** A proxy on 127.0.0.1 and an ephemeral port, forwarding to {@code targetHost:targetPort}. */
    public static TcpProxy start(String targetHost, int targetPort) {
        Objects.requireNonNull(targetHost, "targetHost");
        if (targetPort <= 0 || targetPort > 65535) {
            throw new IllegalArgumentException("target port out of range: " + targetPort);
        }
        try {
            return new TcpProxy(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), targetHost, targetPort);
        } catch (IOException e) {
            throw new UncheckedIOException("could not listen on 127.0.0.1 for a proxy to " + targetHost + ":"
                    + targetPort, e);
        }
    }

    /**
     * A proxy listening on {@code listenOn} (a loopback address other than 127.0.0.1 stands for a member that moved;
     * port 0 for an ephemeral one) to an etcd client URL.
     */
    public static TcpProxy startAt(InetSocketAddress listenOn, URI etcdClientEndpoint) {
        if (!listenOn.getAddress().isLoopbackAddress()) {
            throw new IllegalArgumentException("tests listen on loopback only, not " + listenOn);
        }
        try {
            return new TcpProxy(listenOn, etcdClientEndpoint.getHost(), etcdClientEndpoint.getPort());
        } catch (IOException e) {
            throw new UncheckedIOException("could not listen on " + listenOn, e);
        }
    }

    /** A proxy to an etcd client URL such as {@code http://127.0.0.1:2379}. */
    public static TcpProxy start(URI etcdClientEndpoint) {
        Objects.requireNonNull(etcdClientEndpoint, "etcdClientEndpoint");
        if (etcdClientEndpoint.getHost() == null || etcdClientEndpoint.getPort() < 0) {
            throw new IllegalArgumentException("need host and port in " + etcdClientEndpoint);
        }
        return start(etcdClientEndpoint.getHost(), etcdClientEndpoint.getPort());
    }

    public int port() {
        return port;
    }

    /** {@code http://127.0.0.1:<port>}, to give a client instead of the target's endpoint. */
    public String endpoint() {
        return "http://" + listener.getInetAddress().getHostAddress() + ":" + port;
    }

    /** Normal forwarding; ends a hang (held bytes go out in order), a delay or a refuse. */
    public void pass() {
        setMode(Mode.PASS, 0);
    }

    /** Resets every current connection now, on both sides; new connections are served as before. */
    public void drop() {
        for (Connection c : List.copyOf(connections)) {
            c.reset();
        }
    }

    /** Forwards nothing, closes nothing, holds what arrives until {@link #pass()}; see the class comment. */
    public void hang() {
        setMode(Mode.HANG, 0);
    }

    /** Forwards what clients send; holds what the member answers until {@link #pass()}. */
    public void holdAnswers() {
        setMode(Mode.HOLD_ANSWERS, 0);
    }

    /** Forwards each chunk {@code d} after it arrived, both directions, order preserved. */
    public void delay(Duration d) {
        Objects.requireNonNull(d, "d");
        if (d.isNegative()) {
            throw new IllegalArgumentException("delay must not be negative: " + d);
        }
        setMode(Mode.DELAY, d.toNanos());
    }

    /** The member is down: current connections are reset, new ones are reset as soon as accepted. */
    public void refuse() {
        setMode(Mode.REFUSE, 0);
        drop();
    }

    /** Connections accepted since the start, refused and failed ones included. */
    public long connectionsAccepted() {
        return accepted.get();
    }

    /** Connections currently open (accepted and not yet closed or reset). */
    public int openConnections() {
        return connections.size();
    }

    /**
     * Bytes read from clients so far, held ones included: tells a test which proxy a client's new stream went
     * through.
     */
    long bytesFromClients() {
        return bytesFromClients.get();
    }

    /**
     * Stops listening, resets every connection and waits until every thread of the proxy has ended. Idempotent.
     *
     * @throws IllegalStateException when a thread did not end within 5 s
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            listener.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, () -> "closing the listener: " + e);
        }
        signalModeChange();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(JOIN_TIMEOUT_MS);
        List<String> stuck = new ArrayList<>();
        // the acceptor first: it may still be starting a connection it accepted just before the listener closed
        join(acceptor, deadline, stuck);
        drop();
        for (Thread t : List.copyOf(threads)) {
            join(t, deadline, stuck);
        }
        if (!stuck.isEmpty()) {
            throw new IllegalStateException(this + ": threads still alive after close: " + stuck);
        }
    }

    private static void join(Thread t, long deadline, List<String> stuck) {
        try {
            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while closing a TcpProxy", e);
        }
        if (t.isAlive()) {
            stuck.add(t.getName());
        }
    }

    @Override
    public String toString() {
        return "TcpProxy[127.0.0.1:" + port + " -> " + targetHost + ":" + targetPort + ", " + mode
                + (mode == Mode.DELAY ? " " + TimeUnit.NANOSECONDS.toMillis(delayNanos) + " ms" : "")
                + ", open " + connections.size() + "]";
    }

    // ---- internals ----

    private void setMode(Mode newMode, long newDelayNanos) {
        if (closed) {
            throw new IllegalStateException("proxy closed");
        }
        modeLock.lock();
        try {
            delayNanos = newDelayNanos;
            mode = newMode;
            modeChanged.signalAll();
        } finally {
            modeLock.unlock();
        }
    }

    private void signalModeChange() {
        modeLock.lock();
        try {
            modeChanged.signalAll();
        } finally {
            modeLock.unlock();
        }
    }

    private Thread newThread(String role, Runnable body) {
        Thread t = new Thread(() -> {
            try {
                body.run();
            } finally {
                threads.remove(Thread.currentThread());
            }
        }, "tcp-proxy-" + port + "-" + role);
        t.setDaemon(true);
        threads.add(t);
        return t;
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = listener.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.log(System.Logger.Level.WARNING, () -> this + ": accept failed: " + e);
                }
                return;
            }
            accepted.incrementAndGet();
            if (closed || mode == Mode.REFUSE) {
                resetQuietly(client);
                continue;
            }
            Socket target = new Socket();
            try {
                target.setTcpNoDelay(true);
                client.setTcpNoDelay(true);
                target.connect(new InetSocketAddress(targetHost, targetPort), CONNECT_TIMEOUT_MS);
            } catch (IOException e) {
                LOG.log(System.Logger.Level.DEBUG, () -> this + ": target unreachable (" + e + "); resetting");
                resetQuietly(client);
                resetQuietly(target);
                continue;
            }
            Connection c = new Connection(connectionIds.incrementAndGet(), client, target);
            connections.add(c);
            if (closed) {
                c.reset(); // close() may have run its drop() before the add
            }
            c.start();
        }
    }

    private static void resetQuietly(Socket s) {
        try {
            if (!s.isClosed()) {
                s.setSoLinger(true, 0); // close() then sends RST instead of FIN
            }
        } catch (SocketException e) {
            // not connected or already closed: nothing to reset
        }
        try {
            s.close();
        } catch (IOException e) {
            // closing anyway
        }
    }

    /** What a reader hands its writer: bytes, or how the source ended. */
    private record Chunk(byte[] bytes, int length, long readAtNanos, End end) {
        enum End { NONE, EOF, RESET }
    }

    /** One proxied connection: client side, target side, and a reader and writer per direction. */
    private final class Connection {
        final long id;
        final Socket client;
        final Socket target;
        private final Object endLock = new Object();
        private boolean ended; // guarded by endLock
        private int halfClosed; // guarded by endLock: directions that ended with EOF
        private final List<Thread> own;

        Connection(long id, Socket client, Socket target) {
            this.id = id;
            this.client = client;
            this.target = target;
            BlockingQueue<Chunk> up = new ArrayBlockingQueue<>(MAX_QUEUED_CHUNKS);
            BlockingQueue<Chunk> down = new ArrayBlockingQueue<>(MAX_QUEUED_CHUNKS);
            // created here, started by start(): a reset() in between finds the complete list
            this.own = List.of(
                    newThread("c" + id + "-read-up", () -> read(client, up, bytesFromClients)),
                    newThread("c" + id + "-write-up", () -> write(up, target, false)),
                    newThread("c" + id + "-read-down", () -> read(target, down, null)),
                    newThread("c" + id + "-write-down", () -> write(down, client, true)));
        }

        /** Threads that find the connection already reset end at once. */
        void start() {
            for (Thread t : own) {
                t.start();
            }
        }

        private void read(Socket from, BlockingQueue<Chunk> queue, AtomicLong counter) {
            try {
                InputStream in = from.getInputStream();
                while (true) {
                    byte[] buffer = new byte[CHUNK];
                    int n = in.read(buffer);
                    if (n < 0) {
                        queue.put(new Chunk(null, 0, System.nanoTime(), Chunk.End.EOF));
                        return;
                    }
                    if (counter != null) {
                        counter.addAndGet(n);
                    }
                    queue.put(new Chunk(buffer, n, System.nanoTime(), Chunk.End.NONE));
                }
            } catch (IOException e) {
                if (!isEnded()) {
                    // the peer reset its side: pass that on, in order, like everything else
                    queue.offer(new Chunk(null, 0, System.nanoTime(), Chunk.End.RESET));
                }
            } catch (InterruptedException e) {
                // reset(): the connection is gone
            }
        }

        private void write(BlockingQueue<Chunk> queue, Socket to, boolean answers) {
            try {
                OutputStream out = to.getOutputStream();
                while (!isEnded()) {
                    Chunk chunk = queue.take(); // reset() interrupts
                    if (!awaitReleaseOf(chunk, answers)) {
                        return;
                    }
                    switch (chunk.end()) {
                        case NONE -> out.write(chunk.bytes(), 0, chunk.length());
                        case EOF -> {
                            to.shutdownOutput();
                            halfClose();
                            return;
                        }
                        case RESET -> {
                            reset();
                            return;
                        }
                    }
                }
            } catch (IOException e) {
                reset(); // the destination went away: both sides learn of it as they would of a dead link
            } catch (InterruptedException e) {
                // reset(): the connection is gone
            }
        }

        /** Waits until the mode lets {@code chunk} go; false when the connection ended meanwhile. */
        private boolean awaitReleaseOf(Chunk chunk, boolean answer) throws InterruptedException {
            modeLock.lock();
            try {
                while (true) {
                    if (isEnded() || closed) {
                        return false;
                    }
                    Mode m = mode;
                    if (m == Mode.PASS || m == Mode.REFUSE || (m == Mode.HOLD_ANSWERS && !answer)) {
                        return true;
                    }
                    if (m == Mode.HANG || m == Mode.HOLD_ANSWERS) {
                        modeChanged.await(100, TimeUnit.MILLISECONDS);
                        continue;
                    }
                    long wait = chunk.readAtNanos() + delayNanos - System.nanoTime();
                    if (wait <= 0) {
                        return true;
                    }
                    modeChanged.awaitNanos(Math.min(wait, TimeUnit.MILLISECONDS.toNanos(100)));
                }
            } finally {
                modeLock.unlock();
            }
        }

        private void halfClose() {
            boolean both;
            synchronized (endLock) {
                both = ++halfClosed == 2;
            }
            if (both) {
                end(false);
            }
        }

        void reset() {
            end(true);
        }

        private boolean isEnded() {
            synchronized (endLock) {
                return ended;
            }
        }

        private void end(boolean rst) {
            synchronized (endLock) {
                if (ended) {
                    return;
                }
                ended = true;
            }
            connections.remove(this);
            if (rst) {
                resetQuietly(client);
                resetQuietly(target);
            } else {
                closeQuietly(client);
                closeQuietly(target);
            }
            for (Thread t : own) {
                if (t != Thread.currentThread()) {
                    t.interrupt(); // readers and writers blocked on a full or empty queue
                }
            }
        }

        private void closeQuietly(Socket s) {
            try {
                s.close();
            } catch (IOException e) {
                // closing anyway
            }
        }
    }
}
