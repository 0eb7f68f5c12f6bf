using Sealpost.Core.Access;

namespace Sealpost.Web.Console.Pages;

/// <summary>Who is signed in, with which roles, and what they can do here.</summary>
public sealed class IndexModel(ConsoleText text) : ConsolePage(text)
{
    public IReadOnlyList<string> Roles => Principal!.Actor.Roles.Where(r => r != Role.System).Select(RoleNames.Of).Order(StringComparer.Ordinal).ToList();

    public void OnGet()
    {
    }
}
