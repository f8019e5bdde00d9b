package dev.etcdlock.internal.transport;

import java.util.Objects;

/** An etcd user name and password. Never printed: {@link #toString()} leaves the password out. */
public record Credentials(String user, String password) {

    public Credentials {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(password, "password");
        if (user.isEmpty()) {
            throw new IllegalArgumentException("etcd user name must not be empty");
        }
    }

    @Override
    public String toString() {
        return "Credentials[user=" + user + ", password=(hidden)]";
    }
}
