package dev.etcdlock.internal.cli;

import java.io.Console;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.util.Arrays;

/** {@code java -jar etcd-lock.jar <command> [options]}. */
public final class Main {
    private Main() {
    }

    /** Kept referenced: java.util.logging holds loggers weakly, and a collected one forgets its level. */
    private static final java.util.logging.Logger GRPC_LOG = java.util.logging.Logger.getLogger("io.grpc");

    public static void main(String[] args) {
        // gRPC logs at INFO when streams are cut at close ("Received data on closed stream"): noise on a CLI's stderr.
        GRPC_LOG.setLevel(java.util.logging.Level.WARNING);
        System.exit(run(args, System.out, System.err));
    }

    /** As {@link #run(String[], PrintStream, PrintStream, boolean)} with the JVM's own answer to "a terminal?". */
    static int run(String[] args, PrintStream out, PrintStream err) {
        return run(args, out, err, isTerminal(System.console()));
    }

    /**
     * Whether {@code console} (from {@link System#console()}, null for none) is a terminal. Up to Java 21 a console
     * exists only when stdin and stdout are both terminals; from Java 22 one may exist with output redirected, and
     * only its {@code isTerminal()} tells. That method is called by reflection, as we compile for Java 17.
     */
    static boolean isTerminal(Console console) {
        if (console == null) {
            return false;
        }
        Method isTerminal;
        try {
            isTerminal = Console.class.getMethod("isTerminal");
        } catch (NoSuchMethodException beforeJava22) {
            return true;
        }
        try {
            return (Boolean) isTerminal.invoke(console);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return false; // unknown: plain output is right on a terminal too, escapes are wrong in a file
        }
    }

    /** {@code terminal}: whether a person watches, so that output may redraw itself in place. */
    static int run(String[] args, PrintStream out, PrintStream err, boolean terminal) {
        if (args.length == 0 || Options.isHelp(args[0]) || args[0].equals("help")) {
            usage(args.length == 0 ? err : out);
            return args.length == 0 ? 2 : 0;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            return switch (args[0]) {
                case "check" -> check(Options.parseCheck(rest), out);
                case "demo" -> DemoCommand.run(Options.parse(rest), out);
                case "lock" -> LockCommand.run(rest, out, err, terminal);
                case "status" -> StatusCommand.run(rest, out, terminal);
                default -> {
                    err.println("etcd-lock: unknown command '" + args[0] + "'");
                    usage(err);
                    yield 2;
                }
            };
        } catch (IllegalArgumentException e) {
            err.println("etcd-lock: " + e.getMessage());
            return 2;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("etcd-lock: interrupted");
            return 130;
        } catch (Exception e) {
            err.println("etcd-lock: " + (e.getMessage() != null ? e.getMessage() : e.toString()));
            return 1;
        } finally {
            out.flush();
            err.flush();
        }
    }

    private static int check(Options options, PrintStream out) {
        if (options.help()) {
            out.println("""
                    usage: java -jar etcd-lock.jar check [--prefix P] [--endpoints a,b,c] [connection options]

                    Connects to etcd and exercises what locks stand on: a 2 s lease kept alive past twice its TTL,
                    and a watch that sees the lease's key deleted when the lease is revoked.

                    options:
                      --prefix P          where to put the lease's key: P<lease id in hex> (default /etcd-lock/check/);
                                          for a user whose role grants only some keys, a prefix it may write
                      --endpoints a,b,c   etcd client URLs (default: $ETCDCTL_ENDPOINTS, $ETCD_ENDPOINTS, else a
                                          throwaway local etcd); without a scheme: http://, or https:// with the TLS
                                          flags, as etcdctl
                    %s
                      -h, --help          this text""".formatted(Connection.HELP));
            return 0;
        }
        return CheckCommand.run(options, out);
    }

    private static void usage(PrintStream out) {
        out.println("""
                usage: java -jar etcd-lock.jar <command> [options]

                commands:
                  check    connect to etcd and exercise what locks stand on: a lease kept alive past its TTL,
                           a watch that sees the lease's key go when the lease is revoked
                  demo     two app instances take turns on one lock; shows the wait and the fencing tokens
                  lock     lock <name> [--ttl N] [--timeout D] [--] [command args...]: a drop-in for
                           etcdctl lock: run a command while holding the lock, or hold it until interrupted;
                           --wait-progress shows the place in line while waiting (on a terminal)
                  status   status <name> [--watch] [--json]: the holder of a lock and its waiters in line, with
                           leases, TTLs left and fencing tokens; also for etcdctl lock and Go's Mutex/Election;
                           --watch follows changes until Ctrl-C; --permits N reads it as our Semaphore

                options:
                  --endpoints a,b,c   etcd client URLs (default: $ETCDCTL_ENDPOINTS, $ETCD_ENDPOINTS; check and
                                      demo otherwise start a throwaway local etcd, lock and status use
                                      127.0.0.1:2379 as etcdctl)
                  --user NAME[:PASSWORD], --password PASSWORD
                                      an etcd user, for an etcd with authentication
                  --cacert FILE, --cert FILE, --key FILE
                                      TLS as with etcdctl: the CA to verify etcd with, a client certificate
                                      and its key
                  --dial-timeout D, --command-timeout D
                                      how long connecting and each request may take
                                      etcdctl's ETCDCTL_* variables set each of these; a flag wins
                  -h, --help          this text; <command> --help for a command's own""");
    }
}
