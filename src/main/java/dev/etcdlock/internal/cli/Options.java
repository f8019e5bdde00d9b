package dev.etcdlock.internal.cli;

import java.util.ArrayList;
import java.util.List;

/** Command-line options shared by the commands. */
record Options(List<String> endpoints) {

    static Options parse(String[] args) {
        List<String> endpoints = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--endpoints") && i + 1 < args.length) {
                endpoints.add(args[++i]);
            } else if (arg.startsWith("--endpoints=")) {
                endpoints.add(arg.substring("--endpoints=".length()));
            } else {
                throw new IllegalArgumentException("unknown option '" + arg + "' (see --help)");
            }
        }
        if (endpoints.isEmpty()) {
            String env = System.getenv("ETCD_ENDPOINTS");
            if (env != null && !env.isBlank()) {
                endpoints.add(env);
            }
        }
        return new Options(List.copyOf(endpoints));
    }
}
