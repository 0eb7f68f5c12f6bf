using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Sealpost.Core.Access;
using Sealpost.Domain.Administration;

namespace Sealpost.Web.Console.Pages;

/// <summary>Sign-in with password, and TOTP for every role above user: the admin API's flow and its session cookie.</summary>
public sealed class SignInModel(ConsoleText text) : ConsolePage(text)
{
    protected override bool Anonymous => true;

    protected override bool AllowsRestricted => true;

    [BindProperty]
    public string? Address { get; set; }

    [BindProperty]
    public string? Password { get; set; }

    [BindProperty]
    public string? Code { get; set; }

    // A password-only session (its roles need a code) may sign in again, with the code, from here.
    public IActionResult OnGet() => Principal is null || Principal.Restricted ? Page() : Redirect(ConsoleSetup.Prefix);

    public async Task<IActionResult> OnPostAsync()
    {
        var client = Actor.Anonymous("console", HttpContext.Connection.RemoteIpAddress?.ToString(), Address?.Trim(), HttpContext.TraceIdentifier);
        var result = await Api.Access.SignInAsync(client, Address ?? "", Password ?? "", string.IsNullOrWhiteSpace(Code) ? null : Code.Trim(), HttpContext.RequestAborted);
        switch (result.Outcome)
        {
            case SignInOutcome.Failed:
                Response.StatusCode = StatusCodes.Status401Unauthorized;
                FormError = T["SignIn.Failed"];
                return Page();
            case SignInOutcome.Throttled:
                Response.StatusCode = StatusCodes.Status429TooManyRequests;
                FormError = T["SignIn.Throttled"];
                return Page();
            case SignInOutcome.Unavailable:
                Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                FormError = T["SignIn.Unavailable"];
                return Page();
        }

        Response.Cookies.Append(ApiPipeline.CookieName, result.Secret!, new CookieOptions
        {
            Secure = true,
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Path = "/",
            Expires = result.Session!.ExpiresAt,
        });
        if (result.Outcome == SignInOutcome.EnrolmentRequired)
        {
            Notice = T["SignIn.EnrolTotp"];
            return Redirect(ConsoleSetup.Prefix + "/totp");
        }

        return Redirect(ConsoleSetup.Prefix);
    }
}
