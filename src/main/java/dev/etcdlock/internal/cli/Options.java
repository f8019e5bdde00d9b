package dev.etcdlock.internal.cli;

import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.internal.transport.TlsFiles;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Command-line options of the commands that take no others but their connection ({@code check}, {@code demo}),
 * and the helpers every command's parser uses. {@code prefix}: where {@code check} writes its key, null for the
 * default.
 */
record Options(Connection connection, boolean help, String prefix) {

    /** For {@code demo}: the connection flags and {@code --help}. */
    static Options parse(String[] args) {
        return parse(args, false);
    }

    /** For {@code check}: also {@code --prefix P}. */
    static Options parseCheck(String[] args) {
        return parse(args, true);
    }

    private static Options parse(String[] args, boolean prefixAllowed) {
        Connection.Flags connection = new Connection.Flags();
        boolean help = false;
        String prefix = null;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            int taken = connection.take(args, i);
            if (taken > 0) {
                i += taken - 1;
            } else if (isHelp(arg)) {
                help = true;
            } else if (prefixAllowed && (arg.equals("--prefix") || arg.startsWith("--prefix="))) {
                prefix = arg.equals("--prefix") ? value(args, i++) : arg.substring("--prefix=".length());
                if (prefix.isEmpty()) {
                    throw new IllegalArgumentException("--prefix needs a key prefix, like /my-app/locks/");
                }
            } else {
                throw new IllegalArgumentException("unknown option '" + arg + "' (see --help)");
            }
        }
        return new Options(help ? Connection.NONE : connection.build(), help, prefix);
    }

    static boolean isHelp(String arg) {
        return arg.equals("-h") || arg.equals("--help");
    }

    /** The value after option {@code args[i]}; fails naming the option when there is none. */
    static String value(String[] args, int i) {
        if (i + 1 >= args.length) {
            throw new IllegalArgumentException(args[i] + " needs a value (see --help)");
        }
        return args[i + 1];
    }

    /**
     * etcdctl's {@code --cacert}, {@code --cert} and {@code --key}; null where not given. As with etcdctl, giving
     * any of them makes scheme-less endpoints ({@code 10.0.0.1:2379}) https.
     */
    record Tls(String cacert, String cert, String key) {
        static final Tls NONE = new Tls(null, null, null);

        static boolean isFlag(String flag) {
            return flag.equals("--cacert") || flag.equals("--cert") || flag.equals("--key");
        }

        Tls with(String flag, String value) {
            if (value.isEmpty()) {
                throw new IllegalArgumentException(flag + " needs a file name (see --help)");
            }
            return switch (flag) {
                case "--cacert" -> new Tls(value, cert, key);
                case "--cert" -> new Tls(cacert, value, key);
                case "--key" -> new Tls(cacert, cert, value);
                default -> throw new IllegalArgumentException("not a TLS flag: " + flag);
            };
        }

        /** Whether {@code flag} ({@code --cacert}, {@code --cert} or {@code --key}) was given. */
        boolean has(String flag) {
            return switch (flag) {
                case "--cacert" -> cacert != null;
                case "--cert" -> cert != null;
                case "--key" -> key != null;
                default -> throw new IllegalArgumentException("not a TLS flag: " + flag);
            };
        }

        boolean given() {
            return cacert != null || cert != null || key != null;
        }

        /** @throws IllegalArgumentException for a certificate without its key or a key without its certificate */
        Tls checked() {
            if ((cert == null) != (key == null)) {
                throw new IllegalArgumentException(cert == null
                        ? "--key needs --cert: the client certificate the key belongs to"
                        : "--cert needs --key: the private key of the client certificate");
            }
            return this;
        }

        /** etcdctl talks TLS to scheme-less endpoints when it has TLS flags; so do we. */
        List<String> endpoints(List<String> endpoints) {
            if (!given()) {
                return endpoints;
            }
            List<String> result = new ArrayList<>();
            for (String list : endpoints) {
                List<String> parts = new ArrayList<>();
                for (String part : list.split(",", -1)) {
                    String p = part.strip();
                    parts.add(p.isEmpty() || p.contains("://") ? p : "https://" + p);
                }
                result.add(String.join(",", parts));
            }
            return List.copyOf(result);
        }

        EtcdLockClient.Builder applyTo(EtcdLockClient.Builder builder) {
            if (cacert != null) {
                builder.trustedCertificates(Path.of(cacert));
            }
            if (cert != null) {
                builder.clientCertificate(Path.of(cert), Path.of(key));
            }
            return builder;
        }

        /** For the commands that use the engine directly; null without TLS flags. */
        TlsFiles files() {
            return given() ? new TlsFiles(cacert == null ? null : Path.of(cacert), cert == null ? null : Path.of(cert),
                    key == null ? null : Path.of(key)) : null;
        }
    }
}
