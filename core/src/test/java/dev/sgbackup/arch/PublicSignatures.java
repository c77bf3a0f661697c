package dev.sgbackup.arch;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaField;
import com.tngtech.archunit.core.domain.JavaMember;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.domain.JavaType;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;

/**
 * The rule for every sgbackup module's public API: a public or protected member of a public type (and a public
 * type's supertypes) names only JDK types ({@code java.*}, {@code javax.*}), sgbackup's own types
 * ({@code dev.sgbackup.*}, but none from an {@code internal} package) and, as the one documented hook, {@code okhttp3.OkHttpClient}. Third-party types in
 * signatures would make their versions part of our API. Packages named {@code internal} are not API and not checked.
 *
 * <p>Ships in sgbackup-core's tests jar so the adapters check their packages with the same rule.
 */
public final class PublicSignatures {

    /** Third-party types a public signature may name: the documented OkHttp hooks. */
    public static final Set<String> ALLOWED_THIRD_PARTY = Set.of("okhttp3.OkHttpClient");

    private PublicSignatures() {
    }

    /** The rule over the public types of the packages {@code rootPackage..}, {@code internal} packages left out. */
    public static ArchRule onlyPlatformAndOwnTypesIn(String rootPackage) {
        return classes()
                .that().resideInAPackage(rootPackage + "..")
                .and().resideOutsideOfPackage("..internal..")
                .and().arePublic()
                .should(useOnlyPlatformAndOwnTypesInTheirPublicSignatures())
                .allowEmptyShould(false);
    }

    static ArchCondition<JavaClass> useOnlyPlatformAndOwnTypesInTheirPublicSignatures() {
        return new ArchCondition<>("name only java.*, javax.*, dev.sgbackup.* and " + ALLOWED_THIRD_PARTY
                + " in public or protected signatures") {
            @Override
            public void check(JavaClass type, ConditionEvents events) {
                if (!visibleOutsideItsPackage(type)) {
                    return;
                }
                check(type, "extends/implements", supertypes(type), events);
                for (JavaMember member : type.getMembers()) {
                    Set<JavaModifier> mods = member.getModifiers();
                    if (!(mods.contains(JavaModifier.PUBLIC) || mods.contains(JavaModifier.PROTECTED))
                            || mods.contains(JavaModifier.SYNTHETIC) || mods.contains(JavaModifier.BRIDGE)) {
                        continue;
                    }
                    List<JavaType> used = new ArrayList<>();
                    if (member instanceof JavaField f) {
                        used.add(f.getType());
                    } else if (member instanceof JavaCodeUnit cu) {
                        used.add(cu.getReturnType());
                        used.addAll(cu.getParameterTypes());
                        used.addAll(cu.getThrowsClause().getTypes());
                        used.addAll(cu.getTypeParameters());
                    }
                    check(type, member.getFullName(), used, events);
                }
            }

            private void check(JavaClass owner, String where, List<? extends JavaType> used, ConditionEvents events) {
                for (JavaType t : used) {
                    for (JavaClass raw : t.getAllInvolvedRawTypes()) {
                        JavaClass c = raw.isArray() ? raw.getBaseComponentType() : raw;
                        if (!allowed(c)) {
                            events.add(SimpleConditionEvent.violated(owner,
                                    where + " uses " + c.getName()));
                        }
                    }
                }
            }
        };
    }

    private static List<JavaType> supertypes(JavaClass type) {
        List<JavaType> supers = new ArrayList<>();
        type.getSuperclass().ifPresent(supers::add);
        supers.addAll(type.getInterfaces());
        return supers;
    }

    /** Public, and so are all the classes it is nested in. */
    private static boolean visibleOutsideItsPackage(JavaClass type) {
        for (JavaClass c = type; c != null; c = c.getEnclosingClass().orElse(null)) {
            if (!c.getModifiers().contains(JavaModifier.PUBLIC)) {
                return false;
            }
        }
        return !type.isAnonymousClass() && !type.isLocalClass();
    }

    static boolean allowed(JavaClass c) {
        String name = c.getName();
        return c.isPrimitive()
                || name.startsWith("java.")
                || name.startsWith("javax.")
                || (name.startsWith("dev.sgbackup.") && !name.contains(".internal."))
                || ALLOWED_THIRD_PARTY.contains(name);
    }
}
