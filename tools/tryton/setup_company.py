#!/usr/bin/env python3
"""Bootstrap a Tryton 8.2 database as a Dutch webshop's books, for ledgerlink's tests.

Runs in-process through proteus, before the server starts (SQLite backend).
Creates: EUR, countries (EU and a few export destinations), the company
Webshop Test B.V. with its VAT number, fiscal years last/this/next year with
monthly periods and strict sequences (invoices INV<year>-00001, credit notes
CN<year>-00001), the shipped "Universal Chart of Accounts" plus Dutch-style
revenue accounts 8000..8990, the sales taxes, payment term "Direct" as the
customers' default, per-line tax rounding, and the non-admin API user
`connector`.

Usage: setup_company.py CONFIG_FILE DATABASE_NAME
"""
import datetime
import sys
from decimal import Decimal

from proteus import Model
from proteus import config as pconfig
from trytond.modules.account.tests.tools import (
    create_chart, create_fiscalyear, get_accounts)
from trytond.modules.account_invoice.tests.tools import create_payment_term
from trytond.modules.company.tests.tools import create_company, get_company
from trytond.pool import Pool
from trytond.transaction import Transaction

config_file, dbname = sys.argv[1], sys.argv[2]
config = pconfig.set_trytond(dbname, config_file=config_file)

COUNTRIES = {
    'AT': 'Austria', 'BE': 'Belgium', 'BG': 'Bulgaria', 'CY': 'Cyprus',
    'CZ': 'Czechia', 'DE': 'Germany', 'DK': 'Denmark', 'EE': 'Estonia',
    'ES': 'Spain', 'FI': 'Finland', 'FR': 'France', 'GR': 'Greece',
    'HR': 'Croatia', 'HU': 'Hungary', 'IE': 'Ireland', 'IT': 'Italy',
    'LT': 'Lithuania', 'LU': 'Luxembourg', 'LV': 'Latvia', 'MT': 'Malta',
    'NL': 'Netherlands', 'PL': 'Poland', 'PT': 'Portugal', 'RO': 'Romania',
    'SE': 'Sweden', 'SI': 'Slovenia', 'SK': 'Slovakia',
    'CH': 'Switzerland', 'GB': 'United Kingdom', 'NO': 'Norway',
    'US': 'United States',
}
# Sales taxes: name (what ledgerlink's `vat_codes` name), description (on the
# invoice), rate, legal notice.
TAXES = [
    ('VAT 21%', 'BTW 21% (hoog tarief)', '0.21', None),
    ('VAT 9%', 'BTW 9% (laag tarief)', '0.09', None),
    ('VAT 0% export', 'BTW 0% (export buiten de EU)', '0',
        'Export outside the EU: VAT exempt '
        '(art. 146 Directive 2006/112/EC).'),
    ('VAT 0% intra-EU reverse charge', 'BTW verlegd (intracommunautair)', '0',
        'Intra-Community supply: VAT reverse-charged to the customer '
        '(art. 138 and 196 Directive 2006/112/EC).'),
]
REVENUE_ACCOUNTS = [
    ('8000', 'Omzet webshop'),
    ('8020', 'Omzet intracommunautaire leveringen'),
    ('8030', 'Omzet export buiten de EU'),
    ('8050', 'Omzet verzendkosten'),
    ('8990', 'Afrondingsverschillen'),
]
COMPANY_VAT = 'NL000099998B57'   # the Dutch tax office's test number

# --- currency, countries ------------------------------------------------------
Currency = Model.get('currency.currency')
eur = Currency(name='Euro', code='EUR', symbol='€', rounding=Decimal('0.01'),
    digits=2)
eur.save()
Model.get('currency.currency.rate')(
    currency=eur, date=datetime.date(2000, 1, 1), rate=Decimal(1)).save()
Country = Model.get('country.country')
countries = {code: Country(name=name, code=code)
    for code, name in COUNTRIES.items()}
Country.save(list(countries.values()))

# --- company -------------------------------------------------------------------
Party = Model.get('party.party')
company_party = Party(name='Webshop Test B.V.')
address = company_party.addresses[0]
address.street = 'Damrak 1'
address.postal_code = '1012 LG'
address.city = 'Amsterdam'
address.country = countries['NL']
company_party.identifiers.new(type='eu_vat', code=COMPANY_VAT)
company_party.save()
# As if checked on VIES once, so posting does not warn about it on every
# invoice. The fields are read-only over RPC (proteus), hence the ORM.
company_vat_id = company_party.identifiers[0].id
with Transaction().start(dbname, 0):
    Identifier = Pool().get('party.identifier')
    Identifier.write([Identifier(company_vat_id)], {
            'eu_vat_valid': True,
            'eu_vat_validated_at': datetime.datetime.now()})
create_company(party=company_party, currency=eur)
company = get_company()
User = Model.get('res.user')
config._context = User.get_preferences(True, {})

# --- fiscal years, periods, strict sequences -----------------------------------
SequenceStrict = Model.get('ir.sequence.strict')
SequenceType = Model.get('ir.sequence.type')
invoice_type, = SequenceType.find([('name', '=', 'Invoice')], limit=1)
today = datetime.date.today()
for year in (today.year - 1, today.year, today.year + 1):
    fiscalyear = create_fiscalyear(
        company, (datetime.date(year, 1, 1), datetime.date(year, 12, 31)))
    sequences = {}
    for kind, prefix in [('invoice', 'INV'), ('credit note', 'CN')]:
        sequences[kind] = SequenceStrict(
            name=f'Customer {kind}s {year}', sequence_type=invoice_type,
            company=company, prefix=f'{prefix}{year}-', padding=5)
        sequences[kind].save()
    fiscalyear_sequence, = fiscalyear.invoice_sequences
    fiscalyear_sequence.out_invoice_sequence = sequences['invoice']
    fiscalyear_sequence.out_credit_note_sequence = sequences['credit note']
    fiscalyear_sequence.in_invoice_sequence = sequences['invoice']
    fiscalyear_sequence.in_credit_note_sequence = sequences['credit note']
    fiscalyear.save()
    fiscalyear.click('create_period')

# --- chart of accounts -----------------------------------------------------------
create_chart(company)
accounts = get_accounts(company)
Account = Model.get('account.account')
goods = accounts['revenue']
for code, name in REVENUE_ACCOUNTS:
    Account(name=name, code=code, type=goods.type, parent=goods.parent,
        company=company).save()
tax_account = accounts['tax']

# --- taxes ---------------------------------------------------------------------------
Tax = Model.get('account.tax')
TaxGroup = Model.get('account.tax.group')
vat_group = TaxGroup(name='BTW', code='BTW', kind='sale')
vat_group.save()
for name, description, rate, legal_notice in TAXES:
    Tax(name=name, description=description, type='percentage',
        rate=Decimal(rate), invoice_account=tax_account,
        credit_note_account=tax_account, group=vat_group,
        legal_notice=legal_notice, company=company).save()

# --- payment term, defaults ------------------------------------------------------
payment_term = create_payment_term()
payment_term.save()
Configuration = Model.get('account.configuration')
configuration = Configuration(1)
configuration.default_customer_payment_term = payment_term
# Shops compute VAT per line; Tryton's default rounds per invoice and tax.
configuration.tax_rounding = 'line'
configuration.save()
assert configuration.default_account_receivable, 'no default receivable'

# --- API user for the connector ----------------------------------------------------
Group = Model.get('res.group')
groups = Group.find([('name', 'in', ['Accounting', 'Party Administration'])])
assert len(groups) == 2, [g.name for g in groups]
api = User(name='ledgerlink connector', login='connector')
api.password = 'connector-Secret-42'
api.companies.append(company.__class__(company.id))
api.company = company.__class__(company.id)
api.groups.extend(groups)
api.save()

print('  company %s, receivable %s, tax account %s, revenue %s' % (
    company.rec_name, configuration.default_account_receivable.code,
    tax_account.code, ', '.join(code for code, _ in REVENUE_ACCOUNTS)))
