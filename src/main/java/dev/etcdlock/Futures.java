package dev.etcdlock;

import java.util.concurrent.CompletableFuture;

/** Futures handed to the application without handing it our state. */
final class Futures {
    private Futures() {
    }

    /**
     * A new future that completes as {@code source} does, in the same thread and with the same exception (unlike
     * {@link CompletableFuture#copy()}, which wraps it in a {@link java.util.concurrent.CompletionException}), so that
     * completing or cancelling it changes nothing of {@code source}. While {@code source} is pending, each copy keeps
     * one small callback on it until it completes.
     */
    static <T> CompletableFuture<T> copyOf(CompletableFuture<T> source) {
        CompletableFuture<T> copy = new CompletableFuture<>();
        source.whenComplete((value, failure) -> {
            if (failure != null) {
                copy.completeExceptionally(failure);
            } else {
                copy.complete(value);
            }
        });
        return copy;
    }
}
