using Sealpost.Core.Access;

namespace Sealpost.Web.Console;

/// <summary>One place in the console: its path, its words (menu and home page), and the roles it is for.</summary>
public sealed record ConsoleMenuItem(string Path, string Key, IReadOnlyList<Role> Roles)
{
    /// <summary>Shown to a reader holding any of the roles (every signed-in person holds <see cref="Role.User"/>).</summary>
    public bool For(ConsolePage page) => Roles.Any(page.Has);
}

/// <summary>
/// The console's places in menu order, shown by the layout's menu and the home page to the roles they
/// are for. Hiding a link is for the reader; the permission matrix decides what a page may do.
/// </summary>
public static class ConsoleMenu
{
    private static readonly Role[] Everyone = [Role.User];
    private static readonly Role[] Administrators = [Role.DomainAdmin, Role.PlatformAdmin];
    private static readonly Role[] Operations = [Role.Operator, Role.PlatformAdmin];

    public static readonly IReadOnlyList<ConsoleMenuItem> Items =
    [
        new("/console/password", "Password", Everyone),
        new("/console/app-passwords", "AppPasswords", Everyone),
        new("/console/security", "Security", Everyone),
        new("/console/totp", "Totp", Everyone),
        new("/console/accounts", "Accounts", Administrators),
        new("/console/addresses", "Addresses", Administrators),
        new("/console/lockouts", "Lockouts", Administrators),
        new("/console/domains", "Domains", Administrators),
        new("/console/policies", "Policies", [Role.PlatformAdmin, Role.Operator, Role.Auditor]),
        new("/console/health", "Health", Operations),
        new("/console/queue", "Queue", Operations),
        new("/console/officers", "Officers", [Role.SecurityOfficer]),
        new("/console/audit", "Audit", [Role.Auditor, Role.SecurityOfficer]),
    ];
}
