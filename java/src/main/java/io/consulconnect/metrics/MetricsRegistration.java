package io.consulconnect.metrics;

import io.consulconnect.jni.NativeBridge;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import javax.management.InstanceAlreadyExistsException;
import javax.management.InstanceNotFoundException;
import javax.management.JMException;
import javax.management.MBeanServer;
import javax.management.MalformedObjectNameException;
import javax.management.ObjectName;

/**
 * Puts the metrics beans of a native handle into the platform MBean server and takes them
 * out again.
 *
 * <p>Names: {@code io.consulconnect:type=Identity,name=<service>} and
 * {@code io.consulconnect:type=Authorization,name=<service>}, {@code <service>} being
 * {@code consul.service} or, when none is configured (an identity of the files source),
 * {@code identity}: fixed at open, whatever the leaf (which may or may not be loaded by then)
 * says, so that a name never depends on timing. When a bean of another handle already holds such a
 * name (two configurations of one service), the beans are registered as
 * {@code ...,name=<service>,handle=<id>}. When beans of the same handle are registered
 * already (the same configuration opened again, maybe by a copy of these classes in another
 * class loader: the native handle is shared and counts its references), nothing is
 * registered again. Beans are found by their {@code Handle} attribute, so a copy of these
 * classes in any class loader sees and removes the beans of another.
 *
 * <p>Failures are logged, never thrown: metrics must not stop an identity from opening.
 */
public final class MetricsRegistration {
    /** The JMX domain of every bean of this library. */
    public static final String DOMAIN = "io.consulconnect";

    private static final System.Logger LOG = System.getLogger(MetricsRegistration.class.getName());
    private static final String HANDLE = "Handle";
    private static final String DEFAULT_NAME = "identity";
    private static final String IDENTITY = "Identity";
    private static final String AUTHORIZATION = "Authorization";

    private MetricsRegistration() {}

    /**
     * Registers the identity and authorization beans of an open handle, unless beans of the
     * same handle are registered already.
     *
     * @param handle from {@link NativeBridge#open}
     * @param service the configured {@code consul.service}, or null when none is configured
     */
    public static void register(long handle, String service) {
        try {
            MBeanServer server = ManagementFactory.getPlatformMBeanServer();
            Set<String> present = typesOf(server, handle);
            if (present.contains(IDENTITY) && present.contains(AUTHORIZATION)) {
                return; // the same native identity, opened before (maybe by another class loader's copy)
            }
            String name = service != null ? service : DEFAULT_NAME;
            if (!present.contains(IDENTITY)) {
                register(server, handle, IDENTITY, name, new IdentityBean(handle));
            }
            if (!present.contains(AUTHORIZATION)) {
                register(server, handle, AUTHORIZATION, name, new AuthorizationBean(handle));
            }
        } catch (RuntimeException | LinkageError | JMException e) {
            LOG.log(System.Logger.Level.WARNING, "consul-connect: no JMX metrics for identity handle " + handle
                    + ": " + e, e);
        }
    }

    /**
     * Unregisters every bean of this domain whose {@code Handle} is {@code handle}, whichever
     * class loader registered it. Call once the native identity is gone
     * ({@link NativeBridge#close} returned 0).
     *
     * @param handle the closed handle
     */
    public static void unregister(long handle) {
        MBeanServer server = ManagementFactory.getPlatformMBeanServer();
        try {
            for (ObjectName name : namesOf(server, handle)) {
                try {
                    server.unregisterMBean(name);
                } catch (InstanceNotFoundException e) {
                    // gone meanwhile
                }
            }
        } catch (JMException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "consul-connect: could not unregister the JMX metrics of identity handle "
                    + handle + ": " + e, e);
        }
    }

    /**
     * The name a bean gets: {@code DOMAIN:type=<type>,name=<service>}, plus
     * {@code ,handle=<handle>} when {@code withHandle}.
     *
     * @param type {@code Identity} or {@code Authorization}
     * @param service the service name (quoted when it holds characters an object name cannot)
     * @param handle the native handle
     * @param withHandle whether to add the {@code handle} key
     * @return the name
     * @throws MalformedObjectNameException never for these inputs
     */
    static ObjectName name(String type, String service, long handle, boolean withHandle)
            throws MalformedObjectNameException {
        String value = service.matches("[A-Za-z0-9._-]+") ? service : ObjectName.quote(service);
        return new ObjectName(DOMAIN + ":type=" + type + ",name=" + value + (withHandle ? ",handle=" + handle : ""));
    }

    /**
     * Registers under the plain name, else under the name with the handle; does nothing
     * when the bean found under a name has this handle.
     */
    private static void register(MBeanServer server, long handle, String type, String service, Object bean) {
        try {
            for (boolean withHandle : new boolean[] {false, true}) {
                ObjectName name = name(type, service, handle, withHandle);
                try {
                    server.registerMBean(bean, name);
                    return;
                } catch (InstanceAlreadyExistsException e) {
                    if (handleOf(server, name) == handle) {
                        return; // the same native identity, registered by another class loader's copy
                    }
                }
            }
            LOG.log(System.Logger.Level.WARNING, "consul-connect: JMX name of identity handle " + handle
                    + " is taken by another bean: " + name(type, service, handle, true));
        } catch (JMException e) {
            LOG.log(System.Logger.Level.WARNING, "consul-connect: could not register the JMX " + type
                    + " metrics of identity handle " + handle + ": " + e, e);
        }
    }

    /** The beans of this domain whose {@code Handle} is {@code handle}. */
    private static List<ObjectName> namesOf(MBeanServer server, long handle) throws MalformedObjectNameException {
        List<ObjectName> names = new ArrayList<>();
        for (ObjectName name : server.queryNames(new ObjectName(DOMAIN + ":*"), null)) {
            if (handleOf(server, name) == handle) {
                names.add(name);
            }
        }
        return names;
    }

    /** The {@code type} keys of the beans registered for {@code handle}. */
    private static Set<String> typesOf(MBeanServer server, long handle) throws MalformedObjectNameException {
        Set<String> types = new HashSet<>();
        for (ObjectName name : namesOf(server, handle)) {
            types.add(name.getKeyProperty("type"));
        }
        return types;
    }

    /** The {@code Handle} attribute of a registered bean, or -1 when it has none (or is gone). */
    private static long handleOf(MBeanServer server, ObjectName name) {
        try {
            return server.getAttribute(name, HANDLE) instanceof Long h ? h : -1;
        } catch (JMException | RuntimeException e) {
            return -1;
        }
    }
}
