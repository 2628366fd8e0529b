package io.consulconnect;

import java.util.List;

/**
 * An allowed client as Trino sees it: its user name and its groups. Built by the native
 * core from the verified Connect identity ({@code consul.authz.principal} and
 * {@code consul.authz.groups}).
 *
 * @param user the Trino user: by default the client's service, qualified by namespace and
 *     partition where they are not {@code default} ({@code web}, {@code team-b/web},
 *     {@code part-1/team-b/web})
 * @param groups the client's groups, e.g. {@code consul:service:web},
 *     {@code consul:namespace:default}, {@code consul:partition:default},
 *     {@code consul:datacenter:dc1}; empty with {@code consul.authz.groups=none}
 */
public record ConnectUser(String user, List<String> groups) {
    /** Copies {@code groups}. */
    public ConnectUser {
        groups = List.copyOf(groups);
    }
}
