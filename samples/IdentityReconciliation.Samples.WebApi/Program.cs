// A Bitespeed-compatible identity reconciliation service: POST /identify and GET /healthz over an SQLite file.
using IdentityReconciliation;
using IdentityReconciliation.Samples.WebApi;
using IdentityReconciliation.Sqlite;

var builder = WebApplication.CreateBuilder(args);

builder.Services.AddIdentityReconciliation()
    .UseSqlite(options => options.ConnectionString =
        builder.Configuration.GetConnectionString("Contacts") ?? SqliteContactStoreOptions.DefaultConnectionString);
builder.Services.Configure<IdentityReconciliationOptions>(builder.Configuration.GetSection("IdentityReconciliation")); // the guards

builder.Services.ConfigureHttpJsonOptions(options => IdentifyEndpoint.ConfigureJson(options.SerializerOptions));
builder.Services.AddProblemDetails();
builder.Services.AddHealthChecks().AddCheck<ContactStoreHealthCheck>("contact-store");

var app = builder.Build();

app.UseExceptionHandler(new ExceptionHandlerOptions
{
    // A client's malformed request (too large, aborted) keeps its 4xx status instead of becoming a 500.
    StatusCodeSelector = exception => exception is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
});

app.MapPost("/identify", IdentifyEndpoint.HandleAsync);
app.MapHealthChecks("/healthz");

app.Run();

/// <summary>The entry point, public so that integration tests can start the app with <c>WebApplicationFactory&lt;Program&gt;</c>.</summary>
public partial class Program;
