package dev.etcdlock.internal.cli;

import java.io.PrintStream;
import java.util.Arrays;

/** {@code java -jar etcd-lock.jar <command> [options]}. */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            usage(out);
            return args.length == 0 ? 2 : 0;
        }
        String[] rest = Arrays.copyOfRange(args, 1, args.length);
        try {
            return switch (args[0]) {
                case "check" -> CheckCommand.run(Options.parse(rest), out);
                default -> {
                    err.println("unknown command '" + args[0] + "'");
                    usage(err);
                    yield 2;
                }
            };
        } catch (IllegalArgumentException e) {
            err.println("etcd-lock: " + e.getMessage());
            return 2;
        } catch (RuntimeException e) {
            err.println("etcd-lock: " + e.getMessage());
            return 1;
        }
    }

    private static void usage(PrintStream out) {
        out.println("""
                usage: java -jar etcd-lock.jar <command> [options]

                commands:
                  check    connect to etcd and exercise what locks stand on: a lease kept alive past its TTL,
                           a watch that sees the lease's key go when the lease is revoked

                options:
                  --endpoints a,b,c   etcd client URLs (default: $ETCD_ENDPOINTS, else a throwaway local etcd)
                  -h, --help          this text""");
    }
}
