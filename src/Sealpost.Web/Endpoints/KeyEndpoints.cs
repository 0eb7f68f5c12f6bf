using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Sealpost.Core.Access;
using Sealpost.Crypto.Vault;

namespace Sealpost.Web.Endpoints;

/// <summary>
/// Key custody for officers and administrators: the trust anchor in force, account key versions with
/// their endorsement state, and endorsements handed in. Signatures are made on the signer's machine
/// ('sealpost keys endorse' makes them from a personal key file); here they are checked and stored.
/// </summary>
internal static class KeyEndpoints
{
    public static void Map(RouteGroupBuilder api, ApiContext ctx)
    {
        api.MapGet("/trust-anchor", async (HttpContext http, CancellationToken _) =>
            Results.Json((await ctx.KeyCustody.GetAnchorChainAsync(http.Principal().Actor, http.RequestAborted)).Select(Dto.Anchor).ToList(), ApiPipeline.Json))
            .Requires(Operation.KeyVersionList).Produces<List<TrustAnchorResponse>>();

        api.MapGet("/key-versions", async (HttpContext http, [FromQuery] string? account, [FromQuery] bool? pending) =>
            Results.Json(Paging.Of(await ctx.KeyCustody.ListKeyVersionsAsync(http.Principal().Actor, account, pending ?? false, http.RequestAborted),
                v => v.Address + "\0" + v.Version.ToString("D10", System.Globalization.CultureInfo.InvariantCulture), Dto.KeyVersion, http, ctx.MaxPageSize), ApiPipeline.Json))
            .Requires(Operation.KeyVersionList).Produces<Page<KeyVersionResponse>>();

        api.MapPost("/key-versions/{address}/{version:int}/endorsements", async (HttpContext http, string address, int version) =>
        {
            var request = await http.Body<EndorsementRequest>(ctx.MaxRequestBodyBytes);
            var kind = request.Role switch
            {
                "requester" => EndorsementKind.Requester,
                "approver" => EndorsementKind.Approver,
                _ => throw ApiInputException.Field("role", "must be 'requester' or 'approver'"),
            };
            var publicKey = Base64(request.PublicKey, "publicKey", 32);
            var signature = Base64(request.Signature, "signature", 64);
            var view = await ctx.KeyCustody.EndorseAsync(http.Principal().Actor, address, version, new Endorsement(kind, publicKey, signature), http.RequestAborted);
            return Results.Json(Dto.KeyVersion(view), ApiPipeline.Json);
        }).Requires(Operation.KeyVersionEndorse).Accepts<EndorsementRequest>("application/json").Produces<KeyVersionResponse>();

        // Recovery: the request file for the officers' offline machine out, its response file in.
        api.MapPost("/recovery/requests", async (HttpContext http) =>
        {
            var body = await http.Body<RecoveryRequestBody>(ctx.MaxRequestBodyBytes);

            var purpose = body.Purpose ?? RecoveryPurpose.Restore;
            if (purpose == RecoveryPurpose.Grant)
            {
                var forGrant = await ctx.KeyCustody.RequestGrantKeysAsync(http.Principal().Actor, body.Grant ?? throw ApiInputException.Field("grant", "the approved grant's id"), http.RequestAborted);
                return Results.Text(forGrant.ToJson(), "application/json", statusCode: StatusCodes.Status201Created);
            }

            if (purpose != RecoveryPurpose.Restore)
            {
                throw ApiInputException.Field("purpose", "must be 'restore' or 'grant'");
            }

            if (string.IsNullOrWhiteSpace(body.Address))
            {
                throw ApiInputException.Field("address", "required");
            }

            var request = await ctx.KeyCustody.RequestRestoreAsync(http.Principal().Actor, body.Address, http.RequestAborted);
            return Results.Text(request.ToJson(), "application/json", statusCode: StatusCodes.Status201Created);
        }).Requires(Operation.RecoveryRequest).Accepts<RecoveryRequestBody>("application/json").Produces<RecoveryRequest>(StatusCodes.Status201Created);

        // Access grants: request, officers' signed approvals, list, revoke. The keys arrive by the recovery response above.
        api.MapGet("/access-grants", async (HttpContext http, CancellationToken _) =>
            Results.Json(Paging.Of(await ctx.AccessGrants.ListAsync(http.Principal().Actor, http.RequestAborted), g => g.RequestedAt.ToUnixTimeMilliseconds().ToString("D15", System.Globalization.CultureInfo.InvariantCulture) + g.Id,
                Dto.Grant, http, ctx.MaxPageSize), ApiPipeline.Json))
            .Requires(Operation.AccessGrantList).Produces<Page<AccessGrantResponse>>();

        api.MapGet("/access-grants/{id}", async (HttpContext http, string id) =>
            Results.Json(Dto.Grant(await ctx.AccessGrants.GetAsync(http.Principal().Actor, id, http.RequestAborted)), ApiPipeline.Json))
            .Requires(Operation.AccessGrantList).Produces<AccessGrantResponse>();

        api.MapPost("/access-grants", async (HttpContext http) =>
        {
            var body = await http.Body<AccessGrantRequestBody>(ctx.MaxRequestBodyBytes);
            var grant = await ctx.AccessGrants.RequestAsync(http.Principal().Actor,
                string.IsNullOrWhiteSpace(body.Grantee) ? throw ApiInputException.Field("grantee", "required: who reads") : body.Grantee,
                string.IsNullOrWhiteSpace(body.Mailbox) ? throw ApiInputException.Field("mailbox", "required: whose mailbox") : body.Mailbox,
                body.Justification ?? throw ApiInputException.Field("justification", "required"),
                body.NotBefore, body.ExpiresAt ?? throw ApiInputException.Field("expiresAt", "required"), http.RequestAborted);
            return Results.Json(Dto.Grant(grant), ApiPipeline.Json, statusCode: StatusCodes.Status201Created);
        }).Requires(Operation.AccessGrantRequest).Accepts<AccessGrantRequestBody>("application/json").Produces<AccessGrantResponse>(StatusCodes.Status201Created);

        api.MapPost("/access-grants/{id}/approvals", async (HttpContext http, string id) =>
        {
            var body = await http.Body<AccessGrantApprovalBody>(ctx.MaxRequestBodyBytes);
            var grant = await ctx.AccessGrants.ApproveAsync(http.Principal().Actor, id,
                new GrantApproval("", Base64(body.PublicKey, "publicKey", 32), Base64(body.Signature, "signature", 64)), http.RequestAborted);
            return Results.Json(Dto.Grant(grant), ApiPipeline.Json);
        }).Requires(Operation.AccessGrantApprove).Accepts<AccessGrantApprovalBody>("application/json").Produces<AccessGrantResponse>();

        api.MapDelete("/access-grants/{id}", async (HttpContext http, string id) =>
            Results.Json(Dto.Grant(await ctx.AccessGrants.RevokeAsync(http.Principal().Actor, id, http.RequestAborted)), ApiPipeline.Json))
            .Requires(Operation.AccessGrantRevoke).Produces<AccessGrantResponse>();

        api.MapPost("/recovery/responses", async (HttpContext http) =>
        {
            var raw = await http.Body<System.Text.Json.JsonElement>(ctx.MaxRequestBodyBytes);
            var response = RecoveryResponse.FromJson(raw.GetRawText());
            var versions = await ctx.KeyCustody.ApplyRecoveryAsync(http.Principal().Actor, response, http.RequestAborted);
            return Results.Json(new RecoveryAppliedResponse(response.RequestId, versions), ApiPipeline.Json);
        }).Requires(Operation.RecoveryApply).Accepts<RecoveryResponse>("application/json").Produces<RecoveryAppliedResponse>();
    }

    private static byte[] Base64(string? text, string field, int length)
    {
        try
        {
            var bytes = Convert.FromBase64String(text ?? "");
            return bytes.Length == length ? bytes : throw ApiInputException.Field(field, $"must be {length} bytes in base64");
        }
        catch (FormatException)
        {
            throw ApiInputException.Field(field, $"must be {length} bytes in base64");
        }
    }
}
