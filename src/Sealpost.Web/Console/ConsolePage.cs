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

