package dev.etcdlock.internal.cli;

import dev.etcdlock.EtcdLockClient;
import dev.etcdlock.internal.Engine;
import dev.etcdlock.internal.transport.Credentials;
import java.io.Console;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Where etcd is and how to log in: etcdctl's global flags ({@code --endpoints}, {@code --user}, {@code --password},
 * {@code --cacert}, {@code --cert}, {@code --key}, {@code --dial-timeout}, {@code --command-timeout}) and, for each,
 * its {@code ETCDCTL_*} environment variable, so a command line or a shell set up for etcdctl works unchanged. As
 * with etcdctl, a flag wins over its variable. Our own {@code ETCD_ENDPOINTS} is read after {@code
 * ETCDCTL_ENDPOINTS}.
 *
 * @param endpoints      as given (comma-separated lists allowed); empty when none was given anywhere
 * @param credentials    null: no password login (etcd without authentication, or a certificate-CN user)
 * @param dialTimeout    null: the client's default
 * @param commandTimeout null: the client's default
 */
record Connection(List<String> endpoints, Options.Tls tls, Credentials credentials, Duration dialTimeout,
                  Duration commandTimeout) {

    /** The help of the connection options every command takes, as etcdctl names them. */
    static final String HELP = String.join("\n",
            "  --user NAME[:PASSWORD]  etcd user for an etcd with authentication; without :PASSWORD it comes from",
            "                      --password, $ETCDCTL_PASSWORD or, on a terminal, a prompt",
            "  --password PASSWORD password of --user (then --user holds the name only)",
            "  --cacert FILE       CA certificate (PEM) that etcd's server certificate is verified with",
            "                      (default: the JVM's trusted CAs)",
            "  --cert FILE         client certificate (PEM) for an etcd with --client-cert-auth; needs --key;",
            "                      with authentication on, its common name is the etcd user",
            "  --key FILE          its private key: unencrypted PKCS#8 PEM (BEGIN PRIVATE KEY); convert",
            "                      others with: openssl pkey -in FILE -out FILE.pk8",
            "  --dial-timeout D    how long to wait for etcd to answer when connecting (default 5s)",
            "  --command-timeout D how long one request to etcd may take (default 10s)",
            "  Each also comes from its etcdctl variable: ETCDCTL_ENDPOINTS, ETCDCTL_USER, ETCDCTL_PASSWORD,",
            "  ETCDCTL_CACERT, ETCDCTL_CERT, ETCDCTL_KEY, ETCDCTL_DIAL_TIMEOUT, ETCDCTL_COMMAND_TIMEOUT; a flag wins.");

    static final Connection NONE = new Connection(List.of(), Options.Tls.NONE, null, null, null);

    /** The endpoints, or {@code fallback} when none were given. */
    Connection orEndpoints(List<String> fallback) {
        return endpoints.isEmpty() ? new Connection(tls.endpoints(fallback), tls, credentials, dialTimeout,
                commandTimeout) : this;
    }

    /** A client builder with every setting given. */
    EtcdLockClient.Builder clientBuilder() {
        EtcdLockClient.Builder builder = tls.applyTo(EtcdLockClient.builder().endpoints(endpoints));
        if (credentials != null) {
            builder.credentials(credentials.user(), credentials.password());
        }
        if (dialTimeout != null) {
            builder.connectTimeout(dialTimeout);
        }
        if (commandTimeout != null) {
            builder.requestTimeout(commandTimeout);
        }
        return builder;
    }

    /** Engine settings with every setting given, for the commands that use the engine directly. */
    Engine.Settings settings() {
        Engine.Settings settings = Engine.Settings.of(endpoints).withTls(tls.files()).withCredentials(credentials);
        if (dialTimeout != null) {
            settings = settings.withConnectTimeout(dialTimeout);
        }
        if (commandTimeout != null) {
            settings = settings.withRequestTimeout(commandTimeout);
        }
        return settings;
    }

    /** Collects the connection flags of one command line; {@link #build} adds the environment. */
    static class Flags {
        private final List<String> endpoints = new ArrayList<>();
        private Options.Tls tls = Options.Tls.NONE;
        private String user;
        private String password;
        private Duration dialTimeout;
        private Duration commandTimeout;

        /**
         * Takes the connection flag at {@code args[i]} (as {@code --flag value} or {@code --flag=value}).
         *
         * @return how many arguments it took: 0 when {@code args[i]} is no connection flag
         * @throws IllegalArgumentException for a flag without its value or with a bad one
         */
        int take(String[] args, int i) {
            String arg = args[i];
            int eq = arg.indexOf('=');
            String flag = arg.startsWith("--") && eq > 0 ? arg.substring(0, eq) : arg;
            if (!isFlag(flag)) {
                return 0;
            }
            String value = flag.equals(arg) ? Options.value(args, i) : arg.substring(eq + 1);
            switch (flag) {
                case "--endpoints" -> endpoints.add(value);
                case "--user" -> user = nonEmpty(flag, value);
                case "--password" -> password = value;
                case "--dial-timeout" -> dialTimeout = positive(flag, value);
                case "--command-timeout" -> commandTimeout = positive(flag, value);
                default -> tls = tls.with(flag, value);
            }
            return flag.equals(arg) ? 2 : 1;
        }

        private static boolean isFlag(String flag) {
            return switch (flag) {
                case "--endpoints", "--user", "--password", "--dial-timeout", "--command-timeout" -> true;
                default -> Options.Tls.isFlag(flag);
            };
        }

        /** With the process's environment; a password prompt on the console when only a user name is known. */
        Connection build() {
            return build(System.getenv(), () -> {
                Console console = System.console();
                if (console == null) {
                    return null;
                }
                char[] typed = console.readPassword("Password: ");
                return typed == null ? null : new String(typed);
            });
        }

        /**
         * @param env    the environment ({@code ETCDCTL_*}, {@code ETCD_ENDPOINTS})
         * @param prompt asks for the password, null when nobody can be asked
         * @throws IllegalArgumentException for a certificate without key, a user without password, or a password
         *                                  given twice
         */
        Connection build(Map<String, String> env, Supplier<String> prompt) {
            List<String> eps = new ArrayList<>(endpoints);
            if (eps.isEmpty()) {
                String fromEnv = env("ETCDCTL_ENDPOINTS", env);
                if (fromEnv == null) {
                    fromEnv = env("ETCD_ENDPOINTS", env);
                }
                if (fromEnv != null) {
                    eps.add(fromEnv);
                }
            }
            Options.Tls t = tls;
            for (String flag : List.of("--cacert", "--cert", "--key")) {
                String fromEnv = env("ETCDCTL_" + flag.substring(2).toUpperCase(java.util.Locale.ROOT), env);
                if (fromEnv != null && !t.has(flag)) {
                    t = t.with(flag, fromEnv);
                }
            }
            t = t.checked();
            Duration dial = dialTimeout != null ? dialTimeout : envDuration("ETCDCTL_DIAL_TIMEOUT", env);
            Duration command = commandTimeout != null ? commandTimeout : envDuration("ETCDCTL_COMMAND_TIMEOUT", env);
            return new Connection(t.endpoints(List.copyOf(eps)), t, credentials(env, prompt), dial, command);
        }

        private Credentials credentials(Map<String, String> env, Supplier<String> prompt) {
            String u = user != null ? user : env("ETCDCTL_USER", env);
            String p = password != null ? password : env("ETCDCTL_PASSWORD", env);
            if (u == null) {
                if (password != null) {
                    throw new IllegalArgumentException("--password needs --user: the etcd user it belongs to");
                }
                return null;
            }
            int colon = u.indexOf(':');
            if (colon >= 0) {
                if (password != null) {
                    throw new IllegalArgumentException("give the password once: either --user NAME:PASSWORD or "
                            + "--user NAME --password PASSWORD");
                }
                return new Credentials(nonEmpty("--user", u.substring(0, colon)), u.substring(colon + 1));
            }
            if (p == null) {
                p = prompt.get();
                if (p == null) {
                    throw new IllegalArgumentException("etcd user '" + u + "' needs a password: --user " + u
                            + ":PASSWORD, --password, or $ETCDCTL_PASSWORD");
                }
            }
            return new Credentials(u, p);
        }

        private static String env(String name, Map<String, String> env) {
            String value = env.get(name);
            return value == null || value.isBlank() ? null : value.strip();
        }

        private static Duration envDuration(String name, Map<String, String> env) {
            String value = env(name, env);
            return value == null ? null : positive("$" + name, value);
        }

        private static String nonEmpty(String flag, String value) {
            if (value.isEmpty()) {
                throw new IllegalArgumentException(flag + " needs a user name (see --help)");
            }
            return value;
        }

        private static Duration positive(String flag, String value) {
            Duration d = Durations.parse(flag, value);
            if (d.isZero()) {
                throw new IllegalArgumentException(flag + " must be positive, was " + value);
            }
            return d;
        }
    }
}
