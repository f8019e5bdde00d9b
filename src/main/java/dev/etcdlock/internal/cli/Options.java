package dev.etcdlock.internal.cli;

import java.util.ArrayList;
import java.util.List;

/** Command-line options shared by the commands: {@code --endpoints} and {@code --help}. */
record Options(List<String> endpoints, boolean help) {

    /** For commands that take no other options ({@code check}, {@code demo}). */
    static Options parse(String[] args) {
        List<String> endpoints = new ArrayList<>();
        boolean help = false;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (isHelp(arg)) {
                help = true;
            } else if (arg.equals("--endpoints")) {
                endpoints.add(value(args, i++));
            } else if (arg.startsWith("--endpoints=")) {
                endpoints.add(arg.substring("--endpoints=".length()));
            } else {
                throw new IllegalArgumentException("unknown option '" + arg + "' (see --help)");
            }
        }
        return new Options(withEnvDefault(endpoints), help);
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

    /** The given endpoints, else those of $ETCD_ENDPOINTS, else none (meaning: start a throwaway local etcd). */
    static List<String> withEnvDefault(List<String> endpoints) {
        if (endpoints.isEmpty()) {
            String env = System.getenv("ETCD_ENDPOINTS");
            if (env != null && !env.isBlank()) {
                return List.of(env);
            }
        }
        return List.copyOf(endpoints);
    }
}
