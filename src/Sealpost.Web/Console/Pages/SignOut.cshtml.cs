using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Sealpost.Web.Console.Pages;

/// <summary>Ends this session (or every session of the account), as the API's sign-out does.</summary>
public sealed class SignOutModel(ConsoleText text) : ConsolePage(text)
{
    protected override bool AllowsRestricted => true;

    [BindProperty]
    public bool Everywhere { get; set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync()
    {
        await Api.Access.SignOutAsync(Principal!, Everywhere, HttpContext.RequestAborted);
        Response.Cookies.Delete(ApiPipeline.CookieName, new CookieOptions { Secure = true, HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/" });
        return Redirect(ConsoleSetup.Prefix + "/sign-in");
    }
}
