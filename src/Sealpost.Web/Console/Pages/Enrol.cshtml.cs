using Microsoft.AspNetCore.Mvc;
using Sealpost.Core.Access;

namespace Sealpost.Web.Console.Pages;

/// <summary>
/// A new person redeems the one-time enrolment token their administrator handed them with a password
/// of their own (no sign-in: the token is the proof). The password never reaches the administrator.
/// </summary>
public sealed class EnrolModel(ConsoleText text) : ConsolePage(text)
{
    protected override bool Anonymous => true;

    [BindProperty]
    public string? Address { get; set; }

    [BindProperty]
    public string? Token { get; set; }

    [BindProperty]
    public string? Password { get; set; }

    public bool Done { get; private set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync()
    {
        foreach (var (field, value) in new[] { (nameof(Address), Address), (nameof(Token), Token), (nameof(Password), Password) })
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                ModelState.AddModelError(field, T["Field.Required"]);
            }
        }

        if (ModelState.IsValid)
        {
            var client = Actor.Anonymous("console", HttpContext.Connection.RemoteIpAddress?.ToString(), Address!.Trim(), HttpContext.TraceIdentifier);
            Done = await TryAsync(() => Api.Directory.RedeemEnrolmentAsync(client, Address!.Trim(), Token!.Trim(), Password!, HttpContext.RequestAborted), nameof(Password));
        }

        return Page();
    }
}
