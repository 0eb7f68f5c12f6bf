using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using QRCoder;
using Sealpost.Core.Access;
using Sealpost.Domain.Administration;

namespace Sealpost.Web.Endpoints;

/// <summary>Sign-in and sign-out, and what a person does with their own account: password, TOTP, app passwords, tokens, recent logins.</summary>
internal static class AccessEndpoints
{
    public static void Map(RouteGroupBuilder api, ApiContext ctx)
    {
        api.MapPost("/sign-in", async (HttpContext http, CancellationToken _) =>
        {
            var request = await http.Body<SignInRequest>(ctx.MaxRequestBodyBytes);
            var result = await ctx.Access.SignInAsync(http.ClientActor(), request.Address, request.Password, request.Code, http.RequestAborted);
            switch (result.Outcome)
            {
                case SignInOutcome.Failed:
                    return Problem(401, "sign-in-failed", "Sign-in failed", "wrong address, password or code (accounts above 'user' need their TOTP code)");
                case SignInOutcome.Throttled:
                    http.Response.Headers.RetryAfter = "60";
                    return Problem(429, "throttled", "Too many failed sign-ins", result.Lockout ?? "try again later");
                case SignInOutcome.Unavailable:
                    http.Response.Headers.RetryAfter = "30";
                    return Problem(503, "unavailable", "Temporarily unavailable", "the audit trail cannot take the record; try again shortly");
            }

            var session = result.Session!;
            http.Response.Cookies.Append(ApiPipeline.CookieName, result.Secret!, new CookieOptions
            {
                Secure = true,
                HttpOnly = true,
                SameSite = SameSiteMode.Strict,
                Path = "/",
                Expires = session.ExpiresAt,
            });
            var next = result.Outcome == SignInOutcome.Succeeded ? "signed in" : "enrol TOTP: POST /api/v1/me/totp, then POST /api/v1/me/totp/confirm, then sign in again with a code";
            return Results.Json(new SignInResponse(result.Secret!, session.ExpiresAt, result.Outcome == SignInOutcome.Succeeded, next), ApiPipeline.Json);
        }).Anonymous().Requires(Operation.Login).Accepts<SignInRequest>("application/json").Produces<SignInResponse>();

        // Enrolment: the token is the proof, so no sign-in; wrong, expired and used tokens are told apart.
        api.MapPost("/enrol", async (HttpContext http, CancellationToken _) =>
        {
            var request = await http.Body<EnrolRequest>(ctx.MaxRequestBodyBytes);
            var record = await ApiPipeline.ForField("password", () => ctx.Directory.RedeemEnrolmentAsync(http.ClientActor(request.Address), request.Address, request.Token, request.Password, http.RequestAborted));
            return Results.Json(new EnrolResponse(request.Address.Trim(), record.At, record.From), ApiPipeline.Json);
        }).Anonymous().Requires(Operation.Login).Accepts<EnrolRequest>("application/json").Produces<EnrolResponse>();

        api.MapPost("/sign-out", async (HttpContext http, CancellationToken _) =>
        {
            var request = http.Request.ContentLength is > 0 ? await http.Body<SignOutRequest>(ctx.MaxRequestBodyBytes) : new SignOutRequest();
            await ctx.Access.SignOutAsync(http.Principal(), request.Everywhere, http.RequestAborted);
            http.Response.Cookies.Delete(ApiPipeline.CookieName, new CookieOptions { Secure = true, HttpOnly = true, SameSite = SameSiteMode.Strict, Path = "/" });
            return Results.NoContent();
        }).Requires(Operation.OwnCredentialsManage).AllowRestricted().Accepts<SignOutRequest>("application/json");

        var me = api.MapGroup("/me");
        api.MapGet("/me", async (HttpContext http, CancellationToken _) =>
        {
            var p = http.Principal();
            var enrolled = await ctx.Directory.GetEnrolmentAsync(p.Actor, p.Account.Address.ToString(), http.RequestAborted);
            return Results.Json(new MeResponse(p.Account.Address.ToString(), p.Account.DisplayName, Dto.Roles(p.Account.Roles), await ctx.Access.HasSecondFactorAsync(p.Account, http.RequestAborted),
                p.Credential.Kind.ToString().ToLowerInvariant(), p.Restricted, p.Credential.ExpiresAt, enrolled?.At, enrolled?.From), ApiPipeline.Json);
        }).Requires(Operation.OwnCredentialsManage).AllowRestricted().Produces<MeResponse>();

        me.MapPost("/totp", async (HttpContext http, CancellationToken _) =>
        {
            var enrolment = await ctx.Access.BeginTotpEnrolmentAsync(http.Principal(), http.RequestAborted);
            using var generator = new QRCodeGenerator();
            using var data = generator.CreateQrCode(enrolment.Uri, QRCodeGenerator.ECCLevel.M);
            var svg = new SvgQRCode(data).GetGraphic(4);
            return Results.Json(new TotpEnrolmentResponse(enrolment.Secret, enrolment.Uri, svg), ApiPipeline.Json);
        }).Requires(Operation.OwnSecondFactorEnrol).AllowRestricted().Produces<TotpEnrolmentResponse>();

        me.MapPost("/totp/confirm", async (HttpContext http, CancellationToken _) =>
        {
            var request = await http.Body<CodeRequest>(ctx.MaxRequestBodyBytes);
            var codes = await ctx.Access.ConfirmTotpEnrolmentAsync(http.Principal(), request.Code, http.RequestAborted);
            return Results.Json(new RecoveryCodesResponse(codes), ApiPipeline.Json);
        }).Requires(Operation.OwnSecondFactorEnrol).AllowRestricted().Accepts<CodeRequest>("application/json").Produces<RecoveryCodesResponse>();

        me.MapPut("/password", async (HttpContext http, CancellationToken _) =>
        {
            var request = await http.Body<PasswordChangeRequest>(ctx.MaxRequestBodyBytes);
            await ApiPipeline.ForField("newPassword", () => ctx.Access.ChangeOwnPasswordAsync(http.Principal(), request.CurrentPassword, request.NewPassword, http.RequestAborted));
            return Results.NoContent();
        }).Requires(Operation.OwnPasswordChange).Accepts<PasswordChangeRequest>("application/json");

        me.MapPut("/notify-address", async (HttpContext http, CancellationToken _) =>
        {
            var request = await http.Body<NotifyAddressRequest>(ctx.MaxRequestBodyBytes);
            var principal = http.Principal();
            await ApiPipeline.ForField("address", () => ctx.Directory.SetNotifyAddressAsync(principal.Actor, principal.Account.Address.ToString(), request.Address ?? "", http.RequestAborted));
            return Results.NoContent();
        }).Requires(Operation.OwnCredentialsManage).Accepts<NotifyAddressRequest>("application/json");

        me.MapGet("/app-passwords", async (HttpContext http, CancellationToken _) =>
            Results.Json((await ctx.Access.ListAppPasswordsAsync(http.Principal(), http.RequestAborted)).Select(a => new AppPasswordResponse(a.Id, a.Label, a.CreatedAt, a.LastUsedAt)).ToList(), ApiPipeline.Json))
            .Requires(Operation.OwnCredentialsManage).Produces<List<AppPasswordResponse>>();

        me.MapPost("/app-passwords", async (HttpContext http, CancellationToken _) =>
        {
            var request = await http.Body<AppPasswordRequest>(ctx.MaxRequestBodyBytes);
            var principal = http.Principal();
            var secret = await ctx.Access.CreateAppPasswordAsync(principal, request.Password, request.Label, http.RequestAborted);
            var made = (await ctx.Access.ListAppPasswordsAsync(principal, http.RequestAborted)).Last();
            return Results.Json(new AppPasswordResponse(made.Id, made.Label, made.CreatedAt, null, secret), ApiPipeline.Json, statusCode: 201);
        }).Requires(Operation.OwnAppPasswordCreate).Accepts<AppPasswordRequest>("application/json").Produces<AppPasswordResponse>(201);

        me.MapDelete("/app-passwords/{id:long}", async (HttpContext http, long id) =>
        {
            await ctx.Access.RevokeAppPasswordAsync(http.Principal(), id, http.RequestAborted);
            return Results.NoContent();
        }).Requires(Operation.OwnCredentialsManage);

        me.MapGet("/tokens", async (HttpContext http, CancellationToken _) =>
            Results.Json((await ctx.Access.ListCredentialsAsync(http.Principal(), http.RequestAborted)).Select(c => Dto.Credential(c)).ToList(), ApiPipeline.Json))
            .Requires(Operation.OwnCredentialsManage).Produces<List<CredentialResponse>>();

        me.MapPost("/tokens", async (HttpContext http, CancellationToken _) =>
        {
            var request = await http.Body<TokenRequest>(ctx.MaxRequestBodyBytes);
            var roles = request.Roles.Select(ParseRole).ToList();
            var issued = await ctx.Access.CreateTokenAsync(http.Principal(), request.Label, roles, TimeSpan.FromDays(request.ExpiresInDays), http.RequestAborted, request.Domains);
            return Results.Json(Dto.Credential(issued.Token, issued.Secret), ApiPipeline.Json, statusCode: 201);
        }).Requires(Operation.OwnCredentialsManage).Accepts<TokenRequest>("application/json").Produces<CredentialResponse>(201);

        me.MapDelete("/tokens/{id:long}", async (HttpContext http, long id) =>
        {
            await ctx.Access.RevokeCredentialAsync(http.Principal(), id, http.RequestAborted);
            return Results.NoContent();
        }).Requires(Operation.OwnCredentialsManage);

        me.MapGet("/logins", async (HttpContext http, CancellationToken _) =>
            Results.Json((await ctx.Audit.OwnLoginsAsync(http.Principal().Actor, 50, http.RequestAborted))
                .Select(r => new LoginResponse(r.Event.Time, r.Event.Action.ToString(), r.Event.Protocol, r.Event.Source, r.Event.Detail)).ToList(), ApiPipeline.Json))
            .Requires(Operation.OwnCredentialsManage).Produces<List<LoginResponse>>();
    }

    internal static Role ParseRole(string name)
    {
        try
        {
            return RoleNames.Parse(name);
        }
        catch (Sealpost.Core.SealpostException ex)
        {
            throw ApiInputException.Field("roles", ex.Message);
        }
    }

    internal static IResult Problem(int status, string type, string title, string detail) => new ProblemResult(status, type, title, detail);

    private sealed class ProblemResult(int status, string type, string title, string detail) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext) => ApiPipeline.Problem(httpContext, status, type, title, detail);
    }
}
