package dev.etcdlock.internal.cli;

import dev.etcdlock.ClientClosedException;
import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.LeaseLostException;
import dev.etcdlock.LockHandle;
import dev.etcdlock.LockNotHeldException;
import dev.etcdlock.LockTimeoutException;
import dev.etcdlock.Mutex;
import dev.etcdlock.Session;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.lease.LeaseManager;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code lock <name> [command ...]}, a drop-in for {@code etcdctl lock}: the same key layout ({@code name/<lease
 * hex>}), so it excludes etcdctl and Go holders of the same name, and the same environment for the command.
 */
final class LockCommand {
    /** etcdctl lock's default {@code --ttl} (etcd 3.4 and 3.5: 10 s). */
    static final Duration DEFAULT_TTL = Duration.ofSeconds(10);
    /** etcdctl's default endpoint. */
    static final String DEFAULT_ENDPOINT = "127.0.0.1:2379";
    /** How long a command gets to exit after SIGTERM before it is killed. */
    static final Duration KILL_GRACE = Duration.ofSeconds(10);

    static final int EXIT_NOT_ACQUIRED = 1;
    static final int EXIT_LOST = 3;
    static final int EXIT_CANNOT_RUN = 127;
    static final int EXIT_INTERRUPTED = 130;

    static final String USAGE = """
            usage: java -jar etcd-lock.jar lock <name> [options] [--] [command [args...]]

            Acquires the lock <name> (a key prefix, compatible with etcdctl lock and Go's concurrency.Mutex), then
              with a command: runs it with ETCD_LOCK_KEY (the lock key), ETCD_LOCK_REV (the revision it was
                acquired at, as etcdctl sets it) and ETCD_LOCK_FENCE (the fencing token: the key's create revision)
                in its environment, releases the lock and exits with the command's status;
              without: prints the lock key and holds the lock until SIGINT/SIGTERM.
            If the lock's lease is lost meanwhile, the command gets SIGTERM (SIGKILL 10 s later) and lock exits 3.

            options (before the command; everything from the first argument after <name>, or after --, is the command):
              --endpoints a,b,c   etcd client URLs (default: $ETCDCTL_ENDPOINTS, $ETCD_ENDPOINTS, else
                                  127.0.0.1:2379 as etcdctl); without a scheme: http://, or https:// with the
                                  TLS flags, as etcdctl
              --ttl N             session lease TTL: seconds, or a duration like 30s, 2m (default 10, as etcdctl);
                                  a crashed holder's lock is freed this long after its last keep-alive
              --timeout D         give up waiting for the lock after D (500ms, 10s, 2m; seconds if bare);
                                  default: wait forever
              --wait-progress     while waiting, show the place in line and the time waited on one line of
                                  stderr, redrawn in place; only on a terminal, silent otherwise
            %s
              -h, --help          this text

            exit status: the command's; 0 when released after a signal (no command); 1 lock not acquired
            (timeout, etcd unreachable); 2 bad usage; 3 lock lost (lease expired or revoked); 127 command not
            runnable""".formatted(Connection.HELP);

    /** Parsed arguments; {@code timeout} null means wait forever. */
    record Config(String name, Connection connection, Duration ttl, Duration timeout, List<String> command,
                  boolean help, boolean waitProgress) {
        List<String> endpoints() {
            return connection.endpoints();
        }
    }

    private final Config config;
    private final PrintStream out;
    private final PrintStream err;
    /** Whether the user looks at a terminal: only then is --wait-progress shown. */
    private final boolean terminal;

    private LockCommand(Config config, PrintStream out, PrintStream err, boolean terminal) {
        this.config = config;
        this.out = out;
        this.err = err;
        this.terminal = terminal;
    }

    static int run(String[] args, PrintStream out, PrintStream err, boolean terminal) {
        Config config = parse(args);
        if (config.help()) {
            out.println(USAGE);
            return 0;
        }
        return new LockCommand(config, out, err, terminal).run();
    }

    /** @throws IllegalArgumentException (exit 2) naming the bad or missing argument */
    static Config parse(String[] args) {
        String name = null;
        Connection.Flags connection = new Connection.Flags();
        Duration ttl = DEFAULT_TTL;
        Duration timeout = null;
        boolean waitProgress = false;
        List<String> command = List.of();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String value = null;
            int eq = arg.indexOf('=');
            String flag = arg.startsWith("--") && eq > 0 ? arg.substring(0, eq) : arg;
            int taken = connection.take(args, i);
            if (taken > 0) {
                i += taken - 1;
            } else if (arg.equals("--")) {
                i++;
                if (name == null && i < args.length) {
                    name = args[i++];
                }
                command = List.copyOf(Arrays.asList(args).subList(Math.min(i, args.length), args.length));
                break;
            } else if (Options.isHelp(arg)) {
                return new Config(null, Connection.NONE, ttl, null, List.of(), true, false);
            } else if (arg.equals("--wait-progress")) {
                waitProgress = true;
            } else if (flag.equals("--ttl") || flag.equals("--timeout")) {
                value = flag.equals(arg) ? Options.value(args, i++) : arg.substring(eq + 1);
                if (flag.equals("--ttl")) {
                    ttl = ttl(value);
                } else {
                    timeout = timeout(value);
                }
            } else if (arg.startsWith("-") && arg.length() > 1) {
                throw new IllegalArgumentException("unknown option '" + arg + "' (options go before the "
                        + "command; put -- before a command that starts with '-'; see lock --help)");
            } else if (name == null) {
                name = arg;
            } else {
                command = List.copyOf(Arrays.asList(args).subList(i, args.length));
                break;
            }
        }
        if (name == null) {
            throw new IllegalArgumentException("missing lock name: lock <name> [options] [--] [command ...]"
                    + " (see lock --help)");
        }
        if (name.isEmpty()) {
            throw new IllegalArgumentException("the lock name must not be empty; use a key prefix like "
                    + "/my-app/locks/x");
        }
        if (name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("the lock name must not contain NUL characters");
        }
        return new Config(name, connection.build().orEndpoints(List.of(DEFAULT_ENDPOINT)), ttl, timeout, command,
                false, waitProgress);
    }

    private static Duration ttl(String value) {
        Duration ttl = Durations.parse("--ttl", value);
        if (ttl.isZero()) {
            throw new IllegalArgumentException("--ttl must be positive, was " + value);
        }
        LeaseManager.ttlSecondsOf(ttl); // beyond etcd's maximum: fail now, not after connecting
        return ttl;
    }

    private static Duration timeout(String value) {
        Duration timeout = Durations.parse("--timeout", value);
        if (timeout.isZero()) {
            throw new IllegalArgumentException("--timeout must be positive, was " + value
                    + " (leave it out to wait as long as it takes)");
        }
        return timeout;
    }

    private int run() {
        EtcdLockClient client = config.connection().clientBuilder().build();
        Stopper stopper = new Stopper(client);
        Runtime.getRuntime().addShutdownHook(stopper.hook);
        try {
            Session session = client.newSession(config.ttl());
            Mutex mutex = session.mutex(config.name());
            LockHandle lock;
            // A resource is closed before any catch here runs, and every failure the outer catches report has
            // left this block, so the progress line is cleared before any message is printed.
            try (WaitProgress progress = config.waitProgress() && terminal
                    ? WaitProgress.start(Engine.connect(config.connection().settings()), config.name(),
                            session.leaseId(), err)
                    : null) {
                lock = config.timeout() == null ? mutex.lock() : mutex.lock(config.timeout());
                if (progress != null) {
                    progress.stop(true);
                }
            } catch (LockTimeoutException e) {
                err.println("etcd-lock: lock " + config.name() + " is held by someone else: not acquired within "
                        + Durations.format(config.timeout()) + " (--timeout); its waiter key was deleted, or goes with the"
                        + " session's lease, which this command revokes as it exits");
                return EXIT_NOT_ACQUIRED;
            }
            return config.command().isEmpty() ? hold(session, lock) : runCommand(session, lock, stopper);
        } catch (LeaseLostException e) {
            err.println("etcd-lock: " + e.getMessage());
            return EXIT_LOST;
        } catch (ClientClosedException e) {
            if (stopper.stopping()) {
                return EXIT_INTERRUPTED; // a signal: the shutdown hook is releasing everything
            }
            throw e;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("etcd-lock: interrupted");
            return EXIT_INTERRUPTED;
        } finally {
            stopper.remove();
            client.close(); // revokes the session's lease: nothing of ours stays in etcd
        }
    }

    /** No command: print the key, hold until a signal (the shutdown hook releases) or until the lease is lost. */
    private int hold(Session session, LockHandle lock) {
        out.println(lock.key());
        out.flush();
        Throwable lost = session.lost().handle((v, t) -> t).join(); // normal completion: closed by the hook
        if (lost != null) {
            err.println("etcd-lock: lost lock " + lock.key() + ": " + message(lost));
            return EXIT_LOST;
        }
        return 0;
    }

    private int runCommand(Session session, LockHandle lock, Stopper stopper) throws InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(config.command()).inheritIO();
        pb.environment().put("ETCD_LOCK_KEY", lock.key());
        pb.environment().put("ETCD_LOCK_REV", Long.toString(lock.acquiredRevision()));
        pb.environment().put("ETCD_LOCK_FENCE", Long.toString(lock.fencingToken()));
        Process process;
        try {
            process = stopper.start(pb);
        } catch (IOException e) {
            err.println("etcd-lock: cannot run " + config.command().get(0) + ": " + e.getMessage());
            lock.close();
            return EXIT_CANNOT_RUN;
        }
        if (process == null) {
            return EXIT_INTERRUPTED; // a signal came before the command started
        }

        // Whichever comes first: the command ends, or the lease is lost (null when closed by the shutdown hook).
        CompletableFuture<Throwable> lost = session.lost().handle((v, t) -> t);
        CompletableFuture.anyOf(process.onExit(), lost).join();
        Throwable cause = lost.getNow(null);
        if (cause != null) {
            if (process.isAlive()) {
                err.println("etcd-lock: lost lock " + lock.key() + " while " + config.command().get(0) + " (pid "
                        + process.pid() + ") was running: " + message(cause) + "; sending it SIGTERM");
                terminate(process);
            } else {
                err.println("etcd-lock: lost lock " + lock.key() + ": " + message(cause));
            }
            return EXIT_LOST;
        }
        int status = process.waitFor();
        try {
            lock.unlock();
        } catch (LockNotHeldException e) {
            err.println("etcd-lock: " + e.getMessage());
            return EXIT_LOST;
        } catch (ClientClosedException e) {
            if (!stopper.stopping()) {
                throw e;
            }
        }
        return status;
    }

    /** SIGTERM, then SIGKILL if the process has not exited after {@link #KILL_GRACE}; returns once it is gone. */
    static void terminate(Process process) {
        process.destroy();
        try {
            if (!process.waitFor(KILL_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor();
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private static String message(Throwable t) {
        Throwable c = t;
        while ((c instanceof java.util.concurrent.CompletionException
                || c instanceof java.util.concurrent.ExecutionException) && c.getCause() != null) {
            c = c.getCause();
        }
        return c.getMessage() != null ? c.getMessage() : c.toString();
    }

    /**
     * On SIGINT/SIGTERM: stops the command (so that it never runs without the lock), then closes the client, which
     * revokes the lease and so deletes the lock key (or ends the wait for it).
     */
    private static final class Stopper {
        final Thread hook = new Thread(this::stop, "etcd-lock-release");
        private final EtcdLockClient client;
        private boolean stopping;
        private Process child;

        Stopper(EtcdLockClient client) {
            this.client = client;
        }

        /** Starts the command unless a signal came first (then null). */
        synchronized Process start(ProcessBuilder pb) throws IOException {
            if (stopping) {
                return null;
            }
            child = pb.start();
            return child;
        }

        synchronized boolean stopping() {
            return stopping;
        }

        private void stop() {
            Process p;
            synchronized (this) {
                stopping = true;
                p = child;
            }
            if (p != null && p.isAlive()) {
                terminate(p);
            }
            client.close();
        }

        void remove() {
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shutdownInProgress) {
                // the hook runs or has run
            }
        }
    }
}
