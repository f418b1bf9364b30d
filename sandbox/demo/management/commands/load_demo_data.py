"""``manage.py load_demo_data``: fill the sandbox with pages, plugins, two sites and an admin.

Safe to run again: it creates what is missing and leaves the rest alone (the
``admin`` user's password is reset to ``admin`` every time, and a home page whose
body is empty gets the demo content again).

What it sets up:

* the default site (any host, e.g. ``127.0.0.1:8000``), rooted at the home page,
  which uses the usual selection for every plugin type;
* a second site, ``second.localhost``, rooted at a second home page, whose
  plugin settings (Settings > Plugins) choose the *backup* Stripe account and
  another newsletter list;
* instances of every demo plugin, including two newsletter lists that the pages'
  StreamField blocks and the ``{% plugin %}`` tag render;
* email: a contact form page (``/contact/``) and the admin's password resets send
  through the ``email_sender`` instances, a console one that prints each message on
  the server's output and a disabled SMTP one for editors to configure.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from wagtail.models import Page, Site

from demo.models import ContactFormField, ContactPage, HomePage
from demo.plugins import ConsoleSmsSender, MailingListSignup, StripeGateway
from wagtail_plugin_system import BasePluginItem, PluginInstance, PluginStatus, PluginType
from wagtail_plugin_system.contrib.mail.plugins import SmtpSender
from wagtail_plugin_system.models import PluginSiteChoice, PluginSiteSettings
from wagtail_plugin_system.sync import sync_plugins

# Sandbox only: a well-known login for a site that runs on your own machine.
ADMIN_USERNAME = "admin"
ADMIN_PASSWORD = "admin"

#: The default site answers any host without a site of its own (127.0.0.1, localhost...).
DEFAULT_SITE_NAME = "Default site"
#: The second site: its hostname, name, and its root page's slug.
SECOND_SITE_HOSTNAME = "second.localhost"
SECOND_SITE_NAME = "Second site"
SECOND_HOME_SLUG = "second-home"

STRIPE_MAIN = "Stripe - main account"
STRIPE_BACKUP = "Stripe - backup account"
WEEKLY_DIGEST = "Weekly digest"
PRODUCT_NEWS = "Product news"

#: The configured instances to create: (item class, instance name, config, extra fields).
DEMO_INSTANCES: list[tuple[type[BasePluginItem], str, dict[str, Any], dict[str, Any]]] = [
    (
        StripeGateway,
        STRIPE_MAIN,
        {"api_key": "sk_test_demo_main_0000", "currency": "EUR", "statement_descriptor": "SANDBOX"},
        {"status": PluginStatus.ACTIVE, "priority": 10},
    ),
    (
        StripeGateway,
        STRIPE_BACKUP,
        # Its key was revoked: Test shows a failed check (the main account's passes).
        {"api_key": "sk_test_demo_backup_revoked", "currency": "EUR"},
        {"status": PluginStatus.RESERVED, "priority": 20},
    ),
    (
        ConsoleSmsSender,
        "Console SMS",
        {"sender_id": "Sandbox"},
        {"status": PluginStatus.ACTIVE},
    ),
    (
        MailingListSignup,
        WEEKLY_DIGEST,
        {
            "list_name": "The weekly digest",
            "button_text": "Sign me up",
            "api_key": "nl_demo_secret_weekly_0000",
        },
        {"status": PluginStatus.ACTIVE, "priority": 10},
    ),
    (
        MailingListSignup,
        PRODUCT_NEWS,
        {
            "list_name": "Product news",
            "button_text": "Keep me posted",
            "api_key": "nl_demo_secret_product_0000",
        },
        {"status": PluginStatus.RESERVED, "priority": 20},
    ),
]

# pluginsync makes the console email sender's active instance (it has nothing to configure).
DEMO_INSTANCES += [
    (
        SmtpSender,
        "SMTP relay (configure me)",
        # Disabled until an editor fills in a real server and activates it.
        {"host": "smtp.example.com", "port": 587, "use_tls": True, "timeout": 10},
        {"status": PluginStatus.DISABLED, "priority": 10},
    ),
]

CONTACT_SLUG = "contact"

#: What each site uses instead of the usual selection: {plugin type name: instance name}.
SECOND_SITE_CHOICES = {"payment_gateway": STRIPE_BACKUP, "newsletter_signup": PRODUCT_NEWS}


def demo_body(newsletter: PluginInstance) -> list[dict[str, Any]]:
    """StreamField content (as stored): paragraphs and a sign-up block showing `newsletter`."""
    return [
        {
            "type": "paragraph",
            "value": "<p>This page's body is a StreamField with paragraphs and a plugin block:</p>",
        },
        # A PluginInstanceChooserBlock stores the instance's id.
        {"type": "newsletter", "value": newsletter.pk},
        {
            "type": "paragraph",
            "value": (
                "<p>The sign-up box above is a <b>newsletter</b> block of this page's body: "
                "an editor chose that list for this page. Edit the page to choose another; "
                "disable the instance under <i>Plugins</i> and the block renders nothing.</p>"
            ),
        },
    ]


class Command(BaseCommand):
    help = (
        "Create the sandbox's pages, two sites, demo plugin instances, the second site's "
        "plugin settings and an admin/admin superuser."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where the site will be served, for the printed links.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        base_url = options["base_url"].rstrip("/")
        port = urlsplit(base_url).port or 80
        with transaction.atomic():
            self.sync_plugins()
            instances = self.create_instances()
            home = self.set_up_home_page()
            second_home = self.set_up_second_home_page()
            # Each page's block shows the list the *other* site selects, so that every page
            # shows both: the block (an editor's choice per page) and the footer's
            # {% plugin %} tag (the site's selection).
            self.fill_body(home, instances[PRODUCT_NEWS])
            self.fill_body(second_home, instances[WEEKLY_DIGEST])
            self.set_up_contact_page(home)
            second_site = self.set_up_second_site(second_home, port)
            self.set_up_site_settings(second_site, instances)
            self.set_up_admin()
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS("Demo data ready."))
        self.stdout.write(f"  Site:        {base_url}/")
        self.stdout.write(f"  Second site: http://{SECOND_SITE_HOSTNAME}:{port}/")
        self.stdout.write(f"  Contact:     {base_url}/{CONTACT_SLUG}/ (email printed here)")
        self.stdout.write(f"  Admin:       {base_url}/admin/login/")
        self.stdout.write(f"  Login:       user '{ADMIN_USERNAME}', password '{ADMIN_PASSWORD}'")

    def set_up_home_page(self) -> HomePage:
        """Make a HomePage the root of the default site, replacing Wagtail's welcome page."""
        home = HomePage.objects.filter(slug="home").first()
        root = Page.get_first_root_node()
        site = Site.objects.filter(is_default_site=True).first()
        if home is None:
            # Deleting a page deletes the sites rooted at it: move the site away first.
            if site is not None:
                site.root_page = root
                site.save()
            for page in root.get_children().filter(slug="home"):
                self.stdout.write(f"Removing the default page {page.title!r}.")
                page.delete()
            home = HomePage(
                title="wagtail-plugin-system sandbox",
                slug="home",
                intro=(
                    "This page asks the plugin system which configured instance to use. "
                    "Log in to the admin to change them."
                ),
            )
            root.add_child(instance=home)
            home.save_revision().publish()
            self.stdout.write("Created the home page.")
        if site is None:
            site = Site.objects.create(
                hostname="localhost", port=80, root_page=home, is_default_site=True
            )
            self.stdout.write("Created the default site.")
        elif site.root_page_id != home.pk:
            site.root_page = home
            site.save()
            self.stdout.write("Pointed the default site at the home page.")
        if not site.site_name:
            site.site_name = DEFAULT_SITE_NAME
            site.save()
        return home

    def set_up_second_home_page(self) -> HomePage:
        """The root page of the second site, a sibling of the home page."""
        home = HomePage.objects.filter(slug=SECOND_HOME_SLUG).first()
        if home is None:
            home = HomePage(
                title="Second site of the sandbox",
                slug=SECOND_HOME_SLUG,
                intro=(
                    "This site's plugin settings (Settings > Plugins in the admin) choose "
                    "other instances than the default site uses."
                ),
            )
            Page.get_first_root_node().add_child(instance=home)
            home.save_revision().publish()
            self.stdout.write("Created the second site's home page.")
        return home

    def fill_body(self, page: HomePage, newsletter: PluginInstance) -> None:
        """Give a page with an empty body the demo content, and publish it."""
        if page.body:
            return
        page.body = demo_body(newsletter)
        page.save_revision().publish()
        self.stdout.write(f"Added the demo content to {page.title!r}.")

    def set_up_contact_page(self, home: HomePage) -> ContactPage:
        """A contact form under the home page; its submissions are emailed to the editors."""
        page = ContactPage.objects.filter(slug=CONTACT_SLUG).first()
        if page is not None:
            return page
        page = ContactPage(
            title="Contact us",
            slug=CONTACT_SLUG,
            intro="<p>Your message is emailed to the editors through the email plugins.</p>",
            thank_you_text="<p>Thank you: your message was sent.</p>",
            to_address="editors@example.com",
            from_address="sandbox@example.com",
            subject="Contact form submission",
        )
        home.add_child(instance=page)
        for order, (label, field_type) in enumerate(
            [("Your name", "singleline"), ("Your email", "email"), ("Message", "multiline")]
        ):
            ContactFormField.objects.create(
                page=page, sort_order=order, label=label, field_type=field_type, required=True
            )
        page.save_revision().publish()
        self.stdout.write("Created the contact page.")
        return page

    def set_up_second_site(self, root: HomePage, port: int) -> Site:
        site = Site.objects.filter(hostname=SECOND_SITE_HOSTNAME).first()
        if site is None:
            site = Site.objects.create(
                hostname=SECOND_SITE_HOSTNAME,
                port=port,
                site_name=SECOND_SITE_NAME,
                root_page=root,
            )
            self.stdout.write(f"Created the site {SECOND_SITE_HOSTNAME}:{port}.")
        return site

    def set_up_site_settings(self, site: Site, instances: dict[str, PluginInstance]) -> None:
        """Settings > Plugins of the second site: one row per type it overrides."""
        plugin_settings = PluginSiteSettings.for_site(site)  # created on first use
        for type_name, instance_name in SECOND_SITE_CHOICES.items():
            plugin_type = PluginType.objects.get(name=type_name)
            _choice, created = PluginSiteChoice.objects.get_or_create(
                setting=plugin_settings,
                plugin_type=plugin_type,
                defaults={"instance": instances[instance_name]},
            )
            if created:
                self.stdout.write(f"{site.hostname} uses {instance_name!r} for {plugin_type.name}.")

    def sync_plugins(self) -> None:
        report = sync_plugins()
        summary = ", ".join(f"{count} {key}" for key, count in report.counts().items())
        self.stdout.write(f"Plugin sync: {summary or 'nothing to do'}.")

    def create_instances(self) -> dict[str, PluginInstance]:
        """Create the missing demo instances; return all of them by name."""
        instances: dict[str, PluginInstance] = {}
        for item_class, name, config, fields in DEMO_INSTANCES:
            instance = PluginInstance.objects.filter(
                item__plugin_type__name=item_class.plugin_type.name,
                item__name=item_class.name,
                name=name,
            ).first()
            if instance is None:
                instance = PluginInstance.objects.create_instance(
                    item_class, name=name, config=config, **fields
                )
                self.stdout.write(f"Created plugin instance {name!r}.")
            instances[name] = instance
        return instances

    def set_up_admin(self) -> None:
        user_model = get_user_model()
        user, created = user_model._default_manager.get_or_create(
            username=ADMIN_USERNAME, defaults={"email": "admin@example.com"}
        )
        # Account settings ask for a first and last name: without them the first save
        # there (where editors change their language) fails.
        user.first_name = user.first_name or "Ada"
        user.last_name = user.last_name or "Admin"
        user.is_staff = True
        user.is_superuser = True
        user.is_active = True
        user.set_password(ADMIN_PASSWORD)
        user.save()
        self.stdout.write(
            f"{'Created' if created else 'Updated'} the superuser {ADMIN_USERNAME!r}."
        )
