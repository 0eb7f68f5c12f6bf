using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Sealpost.Core;
using Sealpost.Core.Access;
using Sealpost.Domain.Administration;

namespace Sealpost.Web.Console;

/// <summary>
/// What every console page has: the signed-in principal (from the API's session cookie, checked by the
/// same service on every request), the words in the page's language, and one way to show a refusal or a
/// field error. A page that needs no sign-in says so with <see cref="Anonymous"/>.
/// </summary>
public abstract class ConsolePage(ConsoleText text) : PageModel
{
    public ConsoleText T { get; } = text;

    protected virtual bool Anonymous => false;

    /// <summary>True for the pages a password-only session of a role that needs TOTP may use (enrolling it, signing out).</summary>
    protected virtual bool AllowsRestricted => false;

    public ApiPrincipal? Principal { get; private set; }

    /// <summary>A message for the whole form (a refusal, a conflict), in the page's language.</summary>
    public string? FormError { get; set; }

    /// <summary>What just happened (shown once at the top).</summary>
    [TempData]
    public string? Notice { get; set; }

    protected ApiContext Api => (ApiContext)HttpContext.Items[ConsoleSetup.ContextKey]!;

    protected Actor Actor => Principal!.Actor;

    public bool Has(Role role) => Principal?.Actor.Has(role) == true;

    /// <summary>The first error of a form field, for the message next to it.</summary>
    public string? FieldError(string key) => ModelState.TryGetValue(key, out var entry) && entry.Errors.Count > 0 ? entry.Errors[0].ErrorMessage : null;

    public override async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        var secret = HttpContext.Request.Cookies.TryGetValue(ApiPipeline.CookieName, out var cookie) ? cookie : null;
        Principal = secret is null ? null
            : await Api.Access.AuthenticateAsync(secret, HttpContext.Connection.RemoteIpAddress?.ToString(), HttpContext.TraceIdentifier, HttpContext.RequestAborted);
        if (Principal is null && !Anonymous)
        {
            context.Result = Redirect(ConsoleSetup.Prefix + "/sign-in");
            return;
        }

        // A session that passed the password but not the second factor its roles need may enrol TOTP
        // and sign out, nothing else (the API's rule: AllowRestricted).
        if (Principal is { Restricted: true } && !AllowsRestricted)
        {
            context.Result = Redirect(ConsoleSetup.Prefix + "/totp");
            return;
        }

        var executed = await next();
        if (executed.Exception is SealpostException failed)
        {
            // The permission matrix said no (403), or the thing named is not there (404), or the input is
            // wrong (400): a page in the reader's language with the service's one-line reason, never a trace.
            var (status, title, text) = failed.Kind switch
            {
                ErrorKind.Forbidden => (StatusCodes.Status403Forbidden, T["Forbidden.Title"], T["Forbidden.Text"]),
                ErrorKind.NotFound => (StatusCodes.Status404NotFound, T["NotFound.Title"], T["NotFound.Text"]),
                ErrorKind.TemporarilyUnavailable => (StatusCodes.Status503ServiceUnavailable, T["Unavailable.Title"], T["Unavailable.Text"]),
                _ => (StatusCodes.Status400BadRequest, T["Invalid.Title"], T["Invalid.Text"]),
            };
            executed.ExceptionHandled = true;
            executed.Result = new ContentResult { StatusCode = status, ContentType = "text/html; charset=utf-8", Content = RefusalPage(title, text, failed.Message) };
        }
    }

    private static string RefusalPage(string title, string text, string detail)
    {
        static string E(string s) => System.Net.WebUtility.HtmlEncode(s);
        return $"<!DOCTYPE html><html lang=\"{E(System.Globalization.CultureInfo.CurrentUICulture.Name)}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            + $"<title>{E(title)}</title><link rel=\"stylesheet\" href=\"{ConsoleSetup.Prefix}/console.css\"></head><body><main id=\"main\"><h1>{E(title)}</h1><p>{E(text)}</p><p class=\"detail\">{E(detail)}</p>"
            + $"<p><a href=\"{ConsoleSetup.Prefix}\">Sealpost</a></p></main></body></html>";
    }

    /// <summary>The password typed again for a sensitive action (see <see cref="ConfirmedAsync"/>).</summary>
    [BindProperty]
    public string? ConfirmPassword { get; set; }

    /// <summary>A fresh authenticator code with it, for those who enrolled one.</summary>
    [BindProperty]
    public string? ConfirmCode { get; set; }

    /// <summary>
    /// Re-authentication before a sensitive action (a reset, a role change, an endorsement, a grant
    /// approval): the signed-in person's password and a fresh TOTP code, checked by the access service
    /// as a login attempt. A failure is a message next to the password field, and the action is not taken.
    /// </summary>
    protected async Task<bool> ConfirmedAsync()
    {
        if (string.IsNullOrEmpty(ConfirmPassword))
        {
            ModelState.AddModelError(nameof(ConfirmPassword), T["Field.Required"]);
            return false;
        }

        try
        {
            await Api.Access.ConfirmPresenceAsync(Principal!, ConfirmPassword, string.IsNullOrWhiteSpace(ConfirmCode) ? null : ConfirmCode.Trim(), HttpContext.RequestAborted);
            return true;
        }
        catch (SealpostException ex) when (ex.Kind is ErrorKind.Forbidden or ErrorKind.LimitExceeded)
        {
            ModelState.AddModelError(nameof(ConfirmPassword), ex.Kind == ErrorKind.Forbidden ? T["Confirm.Wrong"] : T["SignIn.Throttled"]);
            return false;
        }
    }

    /// <summary>A slip signed with 'sealpost sign' on the signer's own machine, pasted into a hand-in form.</summary>
    [BindProperty]
    public string? Signed { get; set; }

    /// <summary>
    /// Hands in <see cref="Signed"/> after the reader confirmed it is them: an endorsement of a key version
    /// or an officer's approval of an access grant, checked by the key-custody or grant service (the trust
    /// anchor, two different people, the terms as stored). Sets the notice; false leaves an error at the field.
    /// </summary>
    protected async Task<bool> HandInAsync()
    {
        var slip = Signed?.Trim() ?? "";
        if (slip.Length == 0)
        {
            ModelState.AddModelError(nameof(Signed), T["Field.Required"]);
            return false;
        }

        var ct = HttpContext.RequestAborted;
        return await ConfirmedAsync() && await TryAsync(async () =>
        {
            if (slip.StartsWith(Sealpost.Crypto.Vault.SigningSlips.GrantApprovalPrefix, StringComparison.Ordinal))
            {
                var approval = Sealpost.Crypto.Vault.SigningSlips.Read<Sealpost.Crypto.Vault.GrantApprovalSlip>(Sealpost.Crypto.Vault.SigningSlips.GrantApprovalPrefix, slip);
                var grant = await Api.AccessGrants.ApproveAsync(Actor, approval.Id, new Sealpost.Crypto.Vault.GrantApproval("", approval.Signer, approval.Signature), ct);
                Notice = T.Format("Officers.GrantApproved", grant.Id, T["Grant.State." + grant.State]);
            }
            else
            {
                var endorsement = Sealpost.Crypto.Vault.SigningSlips.Read<Sealpost.Crypto.Vault.EndorsementSlip>(Sealpost.Crypto.Vault.SigningSlips.EndorsementPrefix, slip);
                var version = await Api.KeyCustody.EndorseAsync(Actor, endorsement.Address, endorsement.Version, endorsement.Endorsement, ct);
                Notice = T.Format("Officers.Endorsed", version.Address, version.Version, T["KeyVersion.State." + version.State]);
            }
        }, nameof(Signed));
    }

    /// <summary>The request slip of a key version, to sign with 'sealpost sign' on one's own machine.</summary>
    public static string EndorseSlip(Sealpost.Domain.KeyVersionView v) =>
        Sealpost.Crypto.Vault.SigningSlips.Write(Sealpost.Crypto.Vault.SigningSlips.EndorseRequestPrefix, new Sealpost.Crypto.Vault.EndorseRequestSlip(v.Address, v.AccountId, v.Version, v.PublicKey, v.SigningPublicKey));

    /// <summary>This node's health report (the API's /health), as JSON: the web project does not know the server's record type.</summary>
    protected async Task<System.Text.Json.JsonElement> HealthReportAsync()
    {
        var (_, report) = await Api.Health(HttpContext.RequestAborted);
        return System.Text.Json.JsonSerializer.SerializeToElement(report, ApiPipeline.Json);
    }

    /// <summary>After <see cref="TryAsync"/>: a refusal by the permission matrix becomes the console's 403 page rather than the form again.</summary>
    protected void ThrowIfRefused()
    {
        if (Response.StatusCode == StatusCodes.Status403Forbidden)
        {
            throw new SealpostException(ErrorKind.Forbidden, FormError ?? "not permitted");
        }
    }

    /// <summary>Runs a service call for a form: a refusal, a conflict or bad input becomes the form's error, in the page.</summary>
    protected async Task<bool> TryAsync(Func<Task> call, string? field = null)
    {
        try
        {
            await call();
            return true;
        }
        catch (SealpostException ex) when (ex.Kind is ErrorKind.InvalidInput or ErrorKind.Conflict or ErrorKind.NotFound or ErrorKind.Forbidden or ErrorKind.LimitExceeded)
        {
            if (ex.Kind == ErrorKind.Forbidden)
            {
                Response.StatusCode = StatusCodes.Status403Forbidden;
            }

            if (field is not null)
            {
                ModelState.AddModelError(field, ex.Message);
            }
            else
            {
                FormError = ex.Message;
            }

            return false;
        }
    }
}

