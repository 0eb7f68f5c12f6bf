using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using Sealpost.Core.Access;
using Sealpost.Domain;

namespace Sealpost.Tests.Access;

/// <summary>
/// The permission matrix, generated: every operation x every role x a target in and out of the
/// actor's scope, checked against the policy of ARCHITECTURE §4 stated here independently of the
/// table (no role reads another account's mail; operators never touch content, credentials, keys,
/// roles or the audit trail; auditors only read; department administrators stay in their tenant).
/// </summary>
public sealed class PermissionMatrixTests
{
    private const long OwnAccount = 10, OtherAccount = 20, OwnTenant = 1, OtherTenant = 2;

    private static readonly HashSet<Operation> OwnerOnly = [Operation.MailRead, Operation.MailWrite, Operation.MailSubmit, Operation.OwnPasswordChange, Operation.OwnAppPasswordCreate, Operation.OwnKeyRotate, Operation.GrantedMailRead];
    private static readonly HashSet<Operation> Reads = [Operation.TenantList, Operation.DomainList, Operation.AccountList, Operation.AliasList, Operation.GroupList, Operation.RoleList, Operation.LockoutList, Operation.QueueRead, Operation.ConfigurationRead, Operation.AuditRead, Operation.KeyVersionList, Operation.AccessGrantList];
    private static readonly HashSet<Operation> OperatorNever = [.. OwnerOnly, Operation.AccountPasswordReset, Operation.AccountCreate, Operation.AccountSetState, Operation.RoleGrant, Operation.RoleRevoke, Operation.AuditRead, Operation.LockoutUnlock, Operation.ConfigurationChange, Operation.MailDeliver,
        Operation.AccessGrantRequest, Operation.AccessGrantApprove, Operation.AccessGrantRevoke, Operation.RecoveryRequest, Operation.RecoveryApply];
    /// <summary>One's own sign-in credentials (sessions, tokens, TOTP): every role, own account only.</summary>
    private static readonly HashSet<Operation> OwnSignIn = [Operation.OwnCredentialsManage, Operation.OwnSecondFactorEnrol];
    private static readonly HashSet<Operation> PlatformOnly = [Operation.TenantCreate, Operation.DkimManage, Operation.DomainAdd, Operation.DomainRemove, Operation.RoleGrant, Operation.RoleRevoke, Operation.ConfigurationChange];

    public static TheoryData<Operation, Role, string> Cells()
    {
        var data = new TheoryData<Operation, Role, string>();
        foreach (var op in Enum.GetValues<Operation>())
        {
            foreach (var role in Enum.GetValues<Role>())
            {
                foreach (var target in new[] { "own account", "other account, same tenant", "other tenant", "platform" })
                {
                    data.Add(op, role, target);
                }
            }
        }

        return data;
    }

    private static Actor ActorWith(Role role) =>
        new(ActorKind.Account, "someone@example.test", new HashSet<Role> { role }, OwnAccount, OwnTenant, "192.0.2.1", "test", "c");

    private static Scope Target(string target) => target switch
    {
        "own account" => Scope.OfAccount(OwnTenant, OwnAccount),
        "other account, same tenant" => Scope.OfAccount(OwnTenant, OtherAccount),
        "other tenant" => Scope.OfAccount(OtherTenant, OtherAccount),
        _ => Scope.Platform,
    };

    [Theory]
    [MemberData(nameof(Cells))]
    public void Every_cell_follows_the_policy(Operation op, Role role, string target)
    {
        var allowed = PermissionMatrix.Allows(ActorWith(role), op, Target(target));
        if (op == Operation.Login)
        {
            Assert.True(allowed);
            return;
        }

        if (OwnSignIn.Contains(op))
        {
            // Everyone who signs in looks after their own credentials, and nobody else's.
            Assert.Equal(role != Role.System && target == "own account", allowed);
            return;
        }

        if (OwnerOnly.Contains(op) && op != Operation.MailSubmit)
        {
            // Only the owner, as a user: never another account, never another role.
            Assert.Equal(role == Role.User && target == "own account", allowed);
            return;
        }

        if (role == Role.Operator && OperatorNever.Contains(op))
        {
            Assert.False(allowed, $"an operator may not {op}");
        }

        if (role == Role.Auditor && !Reads.Contains(op))
        {
            Assert.False(allowed, $"an auditor only reads, not {op}");
        }

        if (role == Role.DomainAdmin && target is "other tenant" or "platform")
        {
            Assert.False(allowed, $"a department administrator reaches outside its tenant with {op}");
        }

        if (PlatformOnly.Contains(op))
        {
            Assert.Equal(role == Role.PlatformAdmin || (role == Role.System && op == Operation.ConfigurationChange), allowed);
        }

        if (op == Operation.AuditRead)
        {
            Assert.Equal(role is Role.Auditor or Role.SecurityOfficer, allowed);
        }

        if (role == Role.User && op != Operation.MailDeliver)
        {
            // A user reaches nothing but its own account.
            Assert.True(!allowed || target == "own account", $"a user reaches {target} with {op}");
        }
    }

    [Fact]
    public void Every_operation_has_a_row_for_every_role()
    {
        foreach (var op in Enum.GetValues<Operation>())
        {
            Assert.True(PermissionMatrix.Rows.ContainsKey(op), $"{op} is not in the matrix");
            Assert.Equal(Enum.GetValues<Role>().Length, PermissionMatrix.Rows[op].Count);
        }
    }

    [Fact]
    public void An_actor_without_roles_may_only_log_in()
    {
        var nobody = Actor.Anonymous("test", "192.0.2.1");
        foreach (var op in Enum.GetValues<Operation>().Where(o => o != Operation.Login))
        {
            Assert.False(PermissionMatrix.Allows(nobody, op, Scope.Platform), op.ToString());
        }
    }

    public static TheoryData<string> ServiceMethods()
    {
        var data = new TheoryData<string>();
        foreach (var method in DomainServiceMethods())
        {
            data.Add($"{method.DeclaringType!.Name}.{method.Name}");
        }

        return data;
    }

    private static IEnumerable<MethodInfo> DomainServiceMethods() =>
        typeof(DirectoryService).Assembly.GetTypes()
            .Where(t => t.GetCustomAttribute<DomainServiceAttribute>() is not null)
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Where(m => !m.IsSpecialName && m.ReturnType.IsAssignableTo(typeof(Task))
                && m.GetParameters().FirstOrDefault()?.ParameterType is { } first
                && (first == typeof(Actor) || first == typeof(Sealpost.Domain.Administration.ApiPrincipal)));

    [Theory]
    [MemberData(nameof(ServiceMethods))]
    public void Every_service_operation_names_an_operation_the_matrix_lists(string name)
    {
        var method = DomainServiceMethods().First(m => $"{m.DeclaringType!.Name}.{m.Name}" == name);
        var requires = method.GetCustomAttribute<RequiresAttribute>();
        Assert.True(requires is not null, $"{name} takes an Actor but does not say which operation it is ([Requires])");
        Assert.True(PermissionMatrix.Rows.ContainsKey(requires!.Operation), $"{name} requires {requires.Operation}, which the matrix does not list");
    }

    [Fact]
    public void Service_classes_offer_operations()
    {
        // Guards the test above against finding nothing.
        Assert.True(DomainServiceMethods().Count() > 25);
    }

    public static TheoryData<string> EntryAssemblies() => new() { "Sealpost.Imap", "Sealpost.Smtp", "Sealpost.Delivery", "Sealpost.Web", "sealpost" };

    /// <summary>
    /// Protocols and the CLI reach storage only through the domain services: their compiled code
    /// references no store contract (read from the assemblies' metadata, so it cannot drift).
    /// </summary>
    [Theory]
    [MemberData(nameof(EntryAssemblies))]
    public void Entry_points_use_no_store_contract(string assembly)
    {
        var forbidden = new[] { "ISealpostStore", "IMailStore", "IDirectoryStore", "IQueueStore", "IChangeFeed", "IAuditStore", "ILoginFailureLog", "LoginThrottle", "MessageReader", "SealedDelivery" };
        var path = Path.Combine(AppContext.BaseDirectory, assembly + ".dll");
        using var stream = File.OpenRead(path);
        using var pe = new PEReader(stream);
        var md = pe.GetMetadataReader();
        var used = md.TypeReferences.Select(h => md.GetTypeReference(h))
            .Select(t => md.GetString(t.Name))
            .Where(forbidden.Contains)
            .Distinct()
            .ToList();
        Assert.True(used.Count == 0, $"{assembly} uses {string.Join(", ", used)}: go through a domain service");
    }
}
